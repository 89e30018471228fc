"""Values DAG templates resolve when a task runs (never when the DAG file is parsed).

They are handed to the DAGs as ``user_defined_macros``: the DAG file imports only this light
module, and the store configuration is read by the task that needs it.
"""

from __future__ import annotations


def default_store_id() -> str:
    """The store of ``$STOREHEAT_STORE_CONFIG`` (default ``configs/demo-store.yaml``).

    Raises:
        storeheat.exceptions.ConfigError: the store file is missing or invalid.
    """
    from storeheat.config import default_store_config_path, load_store_config

    return load_store_config(default_store_config_path()).store_id


#: Macros every storeheat DAG gets (``{{ storeheat_store_id() }}``).
MACROS = {"storeheat_store_id": default_store_id}
