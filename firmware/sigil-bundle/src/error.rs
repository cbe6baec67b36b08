//! Why a bundle was refused.

/// Why a bundle was refused. Each names what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle.
    #[error("not a Sigil bundle (no \"SIGLBNDL\" magic): pass a file made by `sigil-host pack`")]
    BadMagic,
    /// Another format version.
    #[error(
        "bundle format version {found}, this build reads version {supported}: use the tools of the firmware the bundle was made for"
    )]
    Version {
        /// The file's version.
        found: u16,
        /// This build's.
        supported: u16,
    },
    /// Unknown flags.
    #[error("bundle flags {0:#06x} are not known to this build")]
    Flags(u16),
    /// The manifest is malformed or inconsistent.
    #[error("bad bundle manifest: {0}")]
    Manifest(String),
    /// The maker's signature does not verify.
    #[error(
        "the bundle's signature does not verify under the maker key: it was altered, or signed by another maker (check --trust / the key passed to `pack`)"
    )]
    Signature,
    /// Shorter or longer than its manifest says.
    #[error(
        "the bundle's {what} is {have} bytes, its manifest says {need}: the file is truncated or padded; copy it again"
    )]
    Truncated {
        /// Which part.
        what: &'static str,
        /// Expected length.
        need: u64,
        /// Found.
        have: u64,
    },
    /// A payload chunk does not match its digest.
    #[error(
        "payload chunk {index} does not match its digest: the bundle was damaged or tampered with; send that chunk again"
    )]
    Chunk {
        /// The chunk.
        index: usize,
    },
    /// A part's digest does not match.
    #[error("the {0}'s SHA-256 does not match the manifest")]
    PartDigest(&'static str),
}
