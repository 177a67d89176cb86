"""taosanalytics: the plugin API of TDgpt's analysis node, as served by our anode.

Existing TDgpt algorithm files import from here (`taosanalytics.service`,
`taosanalytics.conf`, ...) and run unmodified in the anode's Python workers.
The HTTP service itself is the Rust `anode` binary; this package only holds
the base classes, helpers and our Python algorithms (`algo/ad`, `algo/fc`).
"""
