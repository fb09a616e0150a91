//! `docs/ISA.md` carries the opcode table generated from `pxvm::isa`; this test keeps the
//! two in step (regenerate the block between the markers if it fails).

#[test]
fn docs_isa_table_matches_the_isa() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/ISA.md"))
        .expect("docs/ISA.md");
    let start = doc
        .find("<!-- BEGIN GENERATED TABLE -->\n")
        .expect("begin marker")
        + "<!-- BEGIN GENERATED TABLE -->\n".len();
    let end = doc
        .find("<!-- END GENERATED TABLE -->")
        .expect("end marker");
    assert_eq!(&doc[start..end], pxvm::isa::markdown_table());
}
