"""Issue 13: hostile inputs and faults. A package, so that its conftest does not take the module name `conftest`
from the suite-wide one that tests import helpers from."""
