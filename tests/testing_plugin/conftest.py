"""Tests written the way a user of ``asyncsdk.testing`` writes them.

The README tells users to write ``pytest_plugins = ["asyncsdk.testing"]`` in their top-level
``conftest.py``. pytest accepts that line only at the top level, and this directory is one
level down, so the plugin's hook and fixtures are imported here instead; the README's own way
is checked in a separate pytest run (``test_testing_fixtures.py``).
"""

from asyncsdk.testing import (  # noqa: F401
    asyncsdk_emulator_config,
    maxir_client,
    maxir_emulator,
    moi_client,
    moi_emulator,
    pytest_configure,
)
