//! `sigil-host dataset build`: the licence-clean emoji dataset (DESIGN §5). Reads the pinned
//! npm packages installed by `models/data/fetch-emoji.sh`, composites each Twemoji and Noto
//! image onto white, resizes it, and writes `images/{style}/{unified}.png`, `manifest.jsonl`
//! and `summary.json`, honouring `models/data/opt-out.toml`.

mod captions;
mod image;
mod manifest;
mod optout;
mod source;
mod staging;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use sha2::{Digest, Sha256};

use captions::Captions;
use manifest::{Entry, FORMAT, Removed, Skipped, Summary};
use optout::Registry;
use source::{EMOJIBASE, FETCH_HINT, Style};

/// `sigil-host dataset …`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the emoji image/caption dataset from the npm packages.
    Build(BuildArgs),
}

/// `sigil-host dataset build`.
#[derive(Debug, ClapArgs)]
pub struct BuildArgs {
    /// The node_modules folder printed by models/data/fetch-emoji.sh
    /// [default: $SIGIL_NPM_CACHE/node_modules, else ~/.cache/sigil/npm/node_modules].
    #[arg(long)]
    npm: Option<PathBuf>,
    /// Output folder; replaced atomically (an existing one must be an earlier dataset).
    #[arg(long)]
    out: PathBuf,
    /// Output side in pixels.
    #[arg(long, default_value_t = 32, value_parser = parse_size)]
    size: u32,
    /// The opt-out registry.
    #[arg(long, default_value = "models/data/opt-out.toml")]
    opt_out: PathBuf,
    /// Fail on the first missing or damaged image instead of skipping it.
    #[arg(long)]
    strict: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_size(s: &str) -> Result<u32, String> {
    match s {
        "32" => Ok(32),
        "64" => Ok(64),
        _ => Err(format!("{s:?}: the dataset is built at 32 or 64 pixels")),
    }
}

/// Run a `dataset` subcommand.
pub fn run(args: &Args) -> Result<()> {
    match &args.command {
        Command::Build(a) => {
            let started = Instant::now();
            let npm = match &a.npm {
                Some(p) => p.clone(),
                None => default_npm()?,
            };
            let summary = build(&npm, &a.out, a.size, &a.opt_out, a.strict)?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", manifest::table(&summary));
                println!(
                    "wrote {} in {:.1} s",
                    a.out.display(),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(())
        }
    }
}

fn default_npm() -> Result<PathBuf> {
    let cache = match std::env::var_os("SIGIL_NPM_CACHE") {
        Some(c) => PathBuf::from(c),
        None => match std::env::var_os("HOME") {
            Some(h) => Path::new(&h).join(".cache/sigil/npm"),
            None => bail!("neither --npm nor $SIGIL_NPM_CACHE nor $HOME is set: {FETCH_HINT}"),
        },
    };
    Ok(cache.join("node_modules"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Build the dataset into `out` (see the module docs) and return its summary.
pub fn build(npm: &Path, out: &Path, size: u32, opt_out: &Path, strict: bool) -> Result<Summary> {
    let registry = Registry::load(opt_out)?;
    let opt_out_bytes =
        std::fs::read(opt_out).with_context(|| format!("cannot read {}", opt_out.display()))?;
    if !npm.is_dir() {
        bail!("npm folder {} does not exist: {FETCH_HINT}", npm.display());
    }
    let dirs = Style::ALL
        .iter()
        .map(|s| s.package().locate(npm))
        .collect::<Result<Vec<_>>>()?;
    let base_dir = EMOJIBASE.locate(npm)?;
    let (captions, locales) = captions::load_captions(&base_dir)?;

    let staging = staging::Staging::new(out)?;
    let mut summary = Summary {
        format: FORMAT,
        size,
        images: 0,
        counts: Default::default(),
        sources: Style::ALL
            .iter()
            .map(|s| s.package())
            .chain([EMOJIBASE])
            .collect(),
        locales,
        opt_out_file: opt_out.display().to_string(),
        opt_out_sha256: sha256_hex(&opt_out_bytes),
        opt_out_rules: registry.rules.clone(),
        opt_out_unused: Vec::new(),
        removed_count: 0,
        removed: Vec::new(),
        skipped_count: 0,
        skipped: Vec::new(),
        uncaptioned: Vec::new(),
        manifest_sha256: String::new(),
    };
    let mut used = vec![false; registry.rules.len()];
    let mut lines = Vec::new();
    for (style, dir) in Style::ALL.into_iter().zip(dirs) {
        let img_dir = dir.join(style.image_dir());
        if !img_dir.is_dir() {
            bail!(
                "image folder {} is missing: {FETCH_HINT}",
                img_dir.display()
            );
        }
        let items = source::load_items(style, &dir)?;
        let out_dir = staging.path().join("images").join(style.name());
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("cannot create {}", out_dir.display()))?;
        let mut written = 0usize;
        for item in &items {
            let id = format!("{}/{}", style.name(), item.unified);
            if let Some(rule) = registry.matches(style, &item.unified) {
                used[rule] = true;
                summary.removed.push(Removed {
                    id,
                    source: style.package().name,
                    rule: rule + 1,
                    reason: registry.rules[rule].reason.clone(),
                });
                continue;
            }
            let file = img_dir.join(&item.image);
            let converted = std::fs::read(&file)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|bytes| Ok((sha256_hex(&bytes), image::convert(&bytes, size)?)));
            let (sha, png) = match converted {
                Ok(ok) => ok,
                Err(error) if strict => bail!(
                    "{}: {error} (--strict): restore the file, e.g. delete the npm cache \
                     folder and {FETCH_HINT}",
                    file.display()
                ),
                Err(error) => {
                    eprintln!("sigil-host: skipping {}: {error}", file.display());
                    summary.skipped.push(Skipped {
                        id,
                        file: file.display().to_string(),
                        error,
                    });
                    continue;
                }
            };
            let target = out_dir.join(format!("{}.png", item.unified));
            std::fs::write(&target, png)
                .with_context(|| format!("cannot write {}", target.display()))?;
            let mut caps = match captions.get(&source::label_key(&item.unified)) {
                Some(c) => c.clone(),
                None => {
                    summary.uncaptioned.push(id);
                    Captions {
                        label: item.name.clone(),
                        ..Captions::default()
                    }
                }
            };
            caps.unicode_name.clone_from(&item.name);
            caps.short_names.clone_from(&item.short_names);
            let entry = Entry::new(style, item, size, sha, caps);
            summary.count(&entry);
            lines.push(serde_json::to_string(&entry)?);
            written += 1;
        }
        eprintln!("sigil-host: {}: {written} images", style.name());
    }
    summary.removed_count = summary.removed.len();
    summary.skipped_count = summary.skipped.len();
    summary.opt_out_unused = (1..=used.len()).filter(|i| !used[i - 1]).collect();
    if summary.images == 0 {
        bail!(
            "no images were written from {}: {FETCH_HINT}",
            npm.display()
        );
    }
    let mut manifest = lines.join("\n");
    manifest.push('\n');
    summary.manifest_sha256 = sha256_hex(manifest.as_bytes());
    write_file(&staging.path().join("manifest.jsonl"), manifest.as_bytes())?;
    let mut json = serde_json::to_vec_pretty(&summary)?;
    json.push(b'\n');
    write_file(&staging.path().join("summary.json"), &json)?;
    staging.commit()?;
    Ok(summary)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
