//! `pxos run ... --png`: the rendered picture of a seed kernel's run, end to end.

use std::path::Path;
use std::process::{Command, Output};

fn pxos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run pxos")
}

/// Decode the PNG at `path` to (width, height, RGBA bytes).
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pixel(rgba: &[u8], width: u32, x: u32, y: u32) -> [u8; 4] {
    let i = ((y * width + x) * 4) as usize;
    rgba[i..i + 4].try_into().unwrap()
}

#[test]
fn run_png_renders_kernel_v1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("v1.png");
    let o = pxos(&[
        "run",
        "kernels/kernel_v1.asm",
        "--json",
        "--png",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    // --json still prints exactly one JSON object; the note goes to stderr.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();
    assert!(stderr.contains("v1.png"), "{stderr}");

    let (w, h, rgba) = decode(&out);
    assert_eq!((w, h), (800, 600));
    // kernel_v1 draws RECT 50 50 100 100 in (40, 40, 100, 255).
    for (x, y) in [(50, 50), (100, 100), (149, 149), (50, 149), (149, 50)] {
        assert_eq!(pixel(&rgba, w, x, y), [40, 40, 100, 255], "({x},{y})");
    }
    for (x, y) in [(45, 100), (155, 100), (100, 45), (100, 155)] {
        assert_ne!(pixel(&rgba, w, x, y), [40, 40, 100, 255], "({x},{y})");
    }
}

#[test]
fn run_png_to_an_unwritable_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing").join("v1.png");
    let o = pxos(&[
        "run",
        "kernels/kernel_v1.asm",
        "--png",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.starts_with("pxos: "), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert!(!out.exists());
}
