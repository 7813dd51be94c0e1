//! The built-in `secrets` set: the places in a home directory where tools
//! keep credentials. One list, used twice: `--hide-secrets` (and, under
//! `--deny-read`, the default) hides every entry a read rule would
//! otherwise cover, and `sbx learn` never allows an entry nor a directory
//! above one (it lists them as comments instead).

/// One place that holds credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secret {
    /// Relative to the home directory.
    pub path: &'static str,
    /// What it holds: why it is in the set.
    pub holds: &'static str,
    /// Whether a directory of this name holds the same wherever it appears
    /// (a `.ssh` or `.aws` directory in a project, a copied home): `sbx
    /// learn` then treats any path through such a name as a credential.
    pub anywhere: bool,
}

const fn entry(path: &'static str, holds: &'static str, anywhere: bool) -> Secret {
    Secret { path, holds, anywhere }
}

/// The set, in the order `--explain` shows it. Each entry says what it
/// holds; the reasoning for the less obvious ones is beside them.
pub const SECRETS: &[Secret] = &[
    entry(".ssh", "SSH keys and configuration", true),
    entry(".aws", "AWS credentials", true),
    entry(".gnupg", "GnuPG keys", true),
    entry(".kube", "Kubernetes credentials", true),
    entry(".azure", "Azure credentials", true),
    // Whole, not only config.json (registry logins): Docker's default
    // DOCKER_CERT_PATH is ~/.docker (key.pem, the TLS client key of a
    // remote daemon), and contexts/ keeps the same material per context.
    entry(".docker", "Docker registry logins and TLS client keys", true),
    entry(".password-store", "a password store (pass)", true),
    entry(".terraform.d", "Terraform credentials", true),
    entry(".config/gh", "GitHub CLI token", false),
    entry(".config/gcloud", "Google Cloud credentials", false),
    entry(".netrc", "passwords for remote hosts (curl, git, ftp)", false),
    entry(".npmrc", "npm registry token", false),
    entry(".pypirc", "PyPI token", false),
    entry(".git-credentials", "git credentials (credential.helper store)", false),
    entry(".cargo/credentials", "crates.io token", false),
    entry(".cargo/credentials.toml", "crates.io token", false),
    entry(".gem/credentials", "RubyGems API key", false),
    entry(".vault-token", "HashiCorp Vault token", false),
    entry(".config/op", "1Password CLI sessions", false),
    // The login keyring (GNOME Keyring, KWallet) holds every password a
    // desktop application stored, encrypted with the login password.
    entry(".local/share/keyrings", "the desktop login keyring", false),
    entry(".local/share/kwalletd", "the desktop login keyring (KWallet)", false),
    // Browser and mail profiles: cookies (logged-in sessions), saved
    // passwords and tokens; readable, they are a session to steal.
    entry(".mozilla", "Firefox profiles (cookies, saved passwords)", false),
    entry(".thunderbird", "Thunderbird profiles (mail passwords)", false),
    entry(".config/google-chrome", "Chrome profiles (cookies, saved passwords)", false),
    entry(".config/chromium", "Chromium profiles (cookies, saved passwords)", false),
    entry(".config/BraveSoftware", "Brave profiles (cookies, saved passwords)", false),
    // macOS keeps the same in ~/Library.
    entry("Library/Keychains", "macOS keychains", false),
    entry("Library/Application Support/Google/Chrome", "Chrome profiles (cookies, saved passwords)", false),
    entry("Library/Application Support/Firefox", "Firefox profiles (cookies, saved passwords)", false),
    entry("Library/Cookies", "Safari cookies", false),
];

/// The name of the set, as `--explain` and messages give it.
pub const NAME: &str = "secrets";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_relative_unique_and_plain() {
        for (i, s) in SECRETS.iter().enumerate() {
            assert!(!s.path.starts_with('/') && !s.path.ends_with('/'), "{s:?}");
            assert!(!s.path.split('/').any(|c| c.is_empty() || c == "." || c == ".."), "{s:?}");
            assert!(!s.holds.is_empty(), "{s:?}");
            assert!(SECRETS[..i].iter().all(|o| o.path != s.path), "duplicate {s:?}");
            // A name that marks credentials anywhere is one component.
            assert!(!s.anywhere || !s.path.contains('/'), "{s:?}");
        }
    }
}
