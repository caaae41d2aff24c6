"""Operator tools: traffic in (simulate, produce), history out (export), file replay, and
the terminal views of tail, lead/account and rules diff. They use the worker's plumbing
(streams/) and the engine (scoring/); the command line (cli/) calls them."""
