"""Development tools, never shipped: the demo, its iOS-like traffic, the local Stripe emulator's wiring.

They run from a source checkout only (the wheel leaves this package out) and may import `api` and
`pipelines`; neither of those imports them.
"""
