"""The entrance: the Application and its update processor, polling, the web app and API, the CLI
and the demo. Nothing imports it."""
