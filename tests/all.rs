//! sbx's integration tests: one binary, driving the real `sbx` on the real
//! kernel. Set SBX_TEST_REQUIRE_ALL=1 to turn every skip into a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
