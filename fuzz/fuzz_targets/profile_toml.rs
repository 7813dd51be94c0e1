//! Configuration files (`sbx.toml`, `--config FILE`): text → checked
//! `ConfigFile` → for every profile, the `Request` it makes with `extends`
//! applied, and its `allow_net`/`allow_env` entries checked as
//! `Policy::build` checks them. Never panics (errors are rendered too, since
//! they locate byte offsets in the text); touches no file: the path is fake
//! and the environment is a fixed fake one.

#![no_main]

use std::ffi::OsString;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use sbx::config::{Config, ConfigFile, Layer};
use sbx::env::EnvPolicy;
use sbx::policy::{Kind, NetRule, Surroundings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = match ConfigFile::parse(Layer::Named, Some(PathBuf::from("/fuzz/project/sbx.toml")), text) {
        Ok(file) => file,
        Err(err) => {
            let _ = err.to_string();
            return;
        }
    };
    let names: Vec<String> = file.profiles().map(|p| p.name().to_owned()).collect();
    let config = match Config::from_files(vec![file]) {
        Ok(config) => config,
        Err(err) => panic!("the built-in profiles do not load: {err}"),
    };
    let ctx = Surroundings {
        vars: vec![
            (OsString::from("HOME"), OsString::from("/home/fuzz")),
            (OsString::from("XDG_CACHE_HOME"), OsString::from("/home/fuzz/.cache")),
            (OsString::from("EMPTY"), OsString::new()),
            (OsString::from("PATH"), OsString::from("/usr/bin:/bin")),
        ],
        cwd: PathBuf::from("/fuzz/project"),
    };
    let _ = config.profile_names();
    for name in names {
        let flat = match config.flatten(&name, &ctx) {
            Ok(flat) => flat,
            Err(err) => {
                let _ = err.to_string();
                continue;
            }
        };
        let request = flat.request;
        for kind in Kind::ALL {
            let _ = request.denied(kind);
        }
        for path in request.allow_read.iter().chain(&request.allow_write).chain(&request.allow_unix) {
            assert!(path.value.is_absolute(), "profile {name}: {} is not absolute", path.value.display());
            let _ = path.source.entry(&path.value.display().to_string());
        }
        for entry in &request.allow_net {
            if let Err(why) = NetRule::parse(&entry.value) {
                let _ = format!("{}: {why}", entry.source.entry(&entry.value));
            }
        }
        let patterns: Vec<String> = request.allow_env.iter().map(|e| e.value.clone()).collect();
        let _ = EnvPolicy::filter(&patterns);
    }
});
