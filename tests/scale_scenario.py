"""A scenario for tests/test_scale.py that fails under some seeds.

Imported by the `scale_sevens` fixture in the test process (and unregistered after), and by the
Dask workers on demand, when an explore shard names this module for a scenario they lack.
"""

from glitchless.scenarios import Script, scenario


@scenario("scale-sevens", "fails under seeds that leave 3 when divided by 7 (a test scenario)")
async def sevens(s: Script) -> None:
    s.step("check the seed")
    s.expect("seed mod 7 is not 3", s.seed % 7 != 3, True)
