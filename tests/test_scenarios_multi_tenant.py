"""The multi-tenant scenario: its observations carry patterns.md's numbers under every seed."""

from glitchless.scenarios import get_scenario, run_scenario

MIGRATED = "postgres://db-new.prod/globex-migrated"


def test_multi_tenant_is_registered_under_its_name() -> None:
    assert get_scenario("multi-tenant").name == "multi-tenant"


def test_queries_per_tenant_match_the_seed() -> None:
    assert run_scenario("multi-tenant", 0).observations["queries"] == {"acme": 2, "globex": 2, "initech": 1}


def test_db_urls_show_globex_migrated_and_the_others_unchanged() -> None:
    assert run_scenario("multi-tenant", 0).observations["db_urls"] == {
        "acme": "postgres://db.prod/acme",
        "globex": MIGRATED,
        "initech": "postgres://db.prod/initech",
    }


def test_globex_change_recomputes_only_globex_db_url() -> None:
    obs = run_scenario("multi-tenant", 0).observations
    assert obs["recomputes_before_migration"] == {"acme": 1, "globex": 1, "initech": 1}
    assert obs["recomputes"] == {"acme": 1, "globex": 2, "initech": 1}
    assert obs["connections"] == {
        "acme": ["postgres://db.prod/acme"],
        "globex": ["postgres://db.prod/globex", MIGRATED],
        "initech": ["postgres://db.prod/initech"],
    }


def test_each_tenant_sees_only_its_own_credentials_and_storage() -> None:
    isolation = run_scenario("multi-tenant", 0).observations["isolation"]
    assert isolation == {
        t: {"user": f"{t}_app", "password": f"{t[:4]}****{t[-4:]}", "stored": {"last_sql": "select 1", "queries": q}}
        for t, q in [("acme", 2), ("globex", 2), ("initech", 1)]
    }


def test_offboarded_tenant_route_is_gone_and_calls_fail_clearly() -> None:
    obs = run_scenario("multi-tenant", 0).observations
    assert obs["query_routes"] == ["tenant-db-acme.query", "tenant-db-globex.query", "tenant-db-umbrella.query"]
    errors = obs["offboarded_errors"]
    assert isinstance(errors, dict)
    assert str(errors["tenant-db.query"]).startswith("UnknownTargetError: no instance of 'tenant-db' has target 'initech'")
    assert str(errors["tenant-db-initech.query"]).startswith("UnknownComponentError: no component named 'tenant-db-initech'")


def test_multi_tenant_passes_under_seeds_0_to_49() -> None:
    expected = run_scenario("multi-tenant", 0).observations
    failed = {}
    for seed in range(50):
        result = run_scenario("multi-tenant", seed)
        if not result.passed or result.observations != expected:
            failed[seed] = [c.name for c in result.checks if not c.passed]
    assert failed == {}
