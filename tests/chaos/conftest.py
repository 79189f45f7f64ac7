from tests.chaos.cluster import cluster as cluster

__all__ = ["cluster"]
