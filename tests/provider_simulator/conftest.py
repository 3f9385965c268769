"""The provider simulator's tests use the generations fixtures: the simulator wired into get_client()."""

from tests.generations.conftest import _eachlabs_isolated, simulator  # noqa: F401 -- the provider simulator
