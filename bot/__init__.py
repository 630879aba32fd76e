"""Composition root: settings, i18n, clock, the Application, the web app and the CLI."""
