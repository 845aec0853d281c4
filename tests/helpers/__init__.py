"""Helpers the tests import (conftest files only define fixtures; nothing imports a conftest)."""

from tests.helpers.services import MITDB, Db, dsns

__all__ = ["MITDB", "Db", "dsns"]
