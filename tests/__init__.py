"""The course's tests: a package, so that tests.notebook_probes and tests.device_harness import in a lesson's kernel."""
