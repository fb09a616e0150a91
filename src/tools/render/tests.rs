//! Whole-picture tests of the renderer: pixels where the script draws them, the canvas
//! size, console text for everything else, PNG encoding and atomic writing.

use super::*;
use chrome::{BACKDROP, GRID};

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Pixels in the box that differ from the backdrop and its grid.
fn inked(img: &Image, x0: u32, y0: u32, x1: u32, y1: u32) -> Vec<[u8; 4]> {
    let mut out = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.pixel(x, y).unwrap();
            if p != BACKDROP && p != GRID {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn default_canvas_and_rect_pixels() {
    let img = render(&["RECT 50 50 100 100 40 40 100 255"]).unwrap();
    assert_eq!((img.width(), img.height()), (800, 600));
    assert_eq!(img.rgba().len(), 800 * 600 * 4);
    for (x, y) in [(50, 50), (149, 149), (100, 100), (50, 149)] {
        assert_eq!(img.pixel(x, y), Some([40, 40, 100, 255]), "({x},{y})");
    }
    for (x, y) in [(49, 60), (150, 60), (60, 49), (60, 150)] {
        assert_ne!(img.pixel(x, y), Some([40, 40, 100, 255]), "({x},{y})");
    }
    assert_eq!(img.pixel(45, 45), Some(BACKDROP));
    assert_eq!(img.pixel(800, 0), None);
}

#[test]
fn alpha_blends_over_the_rect_below() {
    let img = render(&[
        "RECT 200 200 100 100 0 0 0 255",
        "RECT 250 250 100 100 255 255 255 128",
    ])
    .unwrap();
    assert_eq!(img.pixel(260, 260), Some([128, 128, 128, 255]));
    assert_eq!(img.pixel(220, 220), Some([0, 0, 0, 255]));
    let [r, ..] = img.pixel(320, 320).unwrap();
    let expected = (255 * 128 + u32::from(BACKDROP[0]) * 127 + 127) / 255;
    assert_eq!(u32::from(r), expected, "blended over the backdrop");
}

#[test]
fn canvas_line_sets_the_size() {
    let img = render(&["CANVAS 320 200", "RECT 0 0 10 10 255 0 0 255"]).unwrap();
    assert_eq!((img.width(), img.height()), (320, 200));
    let tiny = render(&["CANVAS 1 1"]).unwrap();
    assert_eq!((tiny.width(), tiny.height()), (1, 1));
    let max = render(&[format!("CANVAS {MAX_CANVAS} 2")]).unwrap();
    assert_eq!(max.width(), MAX_CANVAS);
}

#[test]
fn bad_canvas_sizes_are_clear_errors() {
    for (w, h) in [
        (0, 600),
        (800, 0),
        (-1, 5),
        (4097, 10),
        (10, 99_999_999_999),
    ] {
        let err = render(&[format!("CANVAS {w} {h}")]).unwrap_err();
        assert_eq!(
            err,
            RenderError::BadCanvas {
                width: w,
                height: h
            }
        );
        assert!(err.to_string().contains("1..=4096"), "{err}");
    }
}

#[test]
fn text_draws_its_color_near_its_position() {
    let img = render(&["TEXT 310 210 0 255 0 255 Hello"]).unwrap();
    let box_ink = inked(&img, 310, 210, 310 + 5 * 7, 210 + 16);
    assert!(box_ink.contains(&[0, 255, 0, 255]));
    assert!(
        box_ink
            .iter()
            .all(|p| p[0] <= BACKDROP[0] && p[1] >= BACKDROP[1])
    );
    // Nothing else on the drawing area between the title bar and the console.
    let around = inked(&img, 260, 160, 400, 260).len();
    assert_eq!(around, box_ink.len());
}

#[test]
fn extreme_coordinates_never_panic() {
    let (min, max) = (i32::MIN, i32::MAX);
    let img = render(&[
        format!("RECT {min} {min} {max} {max} 255 0 0 255"),
        format!("RECT {max} {max} {max} {max} 255 0 0 255"),
        format!("RECT {min} {min} -1 -1 255 0 0 255"),
        format!("TEXT {min} {max} 255 0 0 255 x"),
        format!("TEXT -3 {min} 255 0 0 255 {}", "W".repeat(10_000)),
    ])
    .unwrap();
    assert_eq!(img.pixel(410, 310), Some(BACKDROP));
}

#[test]
fn malformed_lines_become_console_text() {
    let input = lines(&[
        "RECT 1 2 3",
        "SELECT nowhere",
        "garbage",
        "RECT 1 2 3 4 5 6 7 999",
    ]);
    let commands = script::parse(&input);
    assert!(
        commands
            .iter()
            .all(|c| matches!(c, Command::Console { .. }))
    );
    let scene = Scene::new(commands);
    assert_eq!(scene.console.len(), 4);
    assert_eq!((scene.rects, scene.texts), (0, 0));
    // And the picture renders, with the console showing them.
    let img = render(&input).unwrap();
    assert!(!inked(&img, 0, 450, 800, 600).is_empty());
}

#[test]
fn console_shows_the_latest_lines_in_kind_colors() {
    let mut v: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    v.push("# ERROR at PC=65536: RuntimeError: PC out of bounds: 65536".into());
    let img = render(&v).unwrap();
    // The error is the last line: its red appears in the bottom rows of the panel.
    let red = chrome::kind_color(script::ConsoleKind::Error);
    assert!(inked(&img, 0, 560, 800, 600).contains(&red));
    assert!(!inked(&img, 0, 0, 800, 28).is_empty(), "the title bar");
}

#[test]
fn deterministic() {
    let v = lines(&["PRINT PXVM: PXVM booting...", "RECT 5 5 5 5 1 2 3 4"]);
    assert_eq!(render(&v).unwrap(), render(&v).unwrap());
}

#[test]
fn png_round_trip() {
    let img = render(&["CANVAS 300 200", "RECT 10 40 20 20 200 10 20 255"]).unwrap();
    let bytes = encode_png(&img).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (300, 200));
    assert_eq!(info.color_type, png::ColorType::Rgba);
    assert_eq!(&buf[..info.buffer_size()], img.rgba());
}

#[test]
fn render_png_writes_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.png");
    render_png(&lines(&["RECT 1 1 1 1 1 1 1 255"]), &path).unwrap();
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));

    // A failed render leaves the old file alone and no temporary file behind.
    let err = render_png(&lines(&["CANVAS 0 0"]), &path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(std::fs::read(&path).unwrap().starts_with(b"\x89PNG"));
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);

    let missing = dir.path().join("no/such/dir/out.png");
    let err = render_png(&lines(&[]), &missing).unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
}
