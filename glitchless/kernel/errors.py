"""Errors of the component layer. Each message names the component, operation or target at fault."""


class ComponentError(Exception):
    """Base class of every error the component layer raises."""


class UnknownComponentError(ComponentError, LookupError):
    """No live component (or factory) has the given name."""


class UnknownOperationError(ComponentError, LookupError):
    """The component exists but has no operation of that name."""


class UnknownTargetError(ComponentError, LookupError):
    """No instance of the factory carries the requested `target`."""


class MissingProviderError(ComponentError):
    """A mandatory requirement has no provider (at boot, hot add/update, or because of a removal)."""


class CyclicRequirementError(ComponentError):
    """Components require each other in a cycle, so no activation order exists."""


class ActivationError(ComponentError):
    """A component failed to activate, and the change was rolled back; or, once a change is in place,
    an instance it replaced failed to stop (the message says which)."""


class PolicyDeniedError(ComponentError, PermissionError):
    """A component published a topic outside its `publish_allow` policy."""
