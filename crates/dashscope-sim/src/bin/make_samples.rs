//! The `make-samples` command: draws the sample persons and garments and writes them to `www/samples/`.

use std::path::PathBuf;

use dashscope_sim::samples::SAMPLES;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The default target is the repository's `www/samples`, found from this crate's
    // manifest, so the command works from any working directory; an argument overrides it.
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/samples"));
    std::fs::create_dir_all(&dir)?;
    for sample in SAMPLES {
        let bytes = sample.render()?;
        let path = dir.join(sample.file_name);
        std::fs::write(&path, &bytes)?;
        let verdict = match tryon_api::rules::check_image(&bytes) {
            Ok(facts) => format!("{}x{} ok", facts.width, facts.height),
            Err(violation) => format!("refused by the input rules: {violation}"),
        };
        println!("{} {} bytes, {verdict}", path.display(), bytes.len());
    }
    Ok(())
}
