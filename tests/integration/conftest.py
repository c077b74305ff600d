from tests.guards import no_leftover_tasks

__all__ = ["no_leftover_tasks"]
