"""Helpers shared by the benchmarks."""

from __future__ import annotations


def recreate_database(pg: str, name: str) -> str:
    """Drop (ending its sessions) and create the PostgreSQL database `name` on server URL `pg`;
    returns its URL. Every benchmark measures on a fresh database of its own."""
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg}/{name}"
