#[test]
fn probe() {
    let ps = std::env::var("PROBE").unwrap_or_default();
    for p in ps.split('|') {
        match sigil_gate::check(p) {
            Ok(o) => {
                let d = o.decision;
                let cat = d.category.and_then(sigil_gate::policy::category).map(|g| g.id);
                let term = d.category.and_then(|c| o.matched_term(c));
                println!("{p:?} => {} {:?} {:?} text={:?}", d.verdict.as_str(), cat, term, sigil_gate::normalise::normalised_text(p));
            }
            Err(e) => println!("{p:?} => ERR {e}"),
        }
    }
}
