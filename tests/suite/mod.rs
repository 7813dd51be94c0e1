pub mod util;

mod cli;
mod docs;
mod env;
mod fs;
mod kernel;
mod net;
mod netallow;
mod process;
