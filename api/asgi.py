"""ASGI entry point for uvicorn workers: the database from $MUTUALAID_DB, settings from the env."""
from api.app import create_app
from api.settings import Settings
from mutualaid.store.db import Database

app = create_app(Database(), Settings.from_env())
