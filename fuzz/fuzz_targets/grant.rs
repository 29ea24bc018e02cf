//! Grant strings `<resource>:<action>@<namespace>` (`*` wildcards), one per line, as requests,
//! stored permissions and token scopes carry them: parse → display → parse is the identity, and
//! the algebra on what parsed keeps its promises (a client never does more than its owner).
#![no_main]

use gatehouse_api_types::grant::{self, Grant};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parsed = Vec::new();
    for line in text.split('\n') {
        let Ok(g) = Grant::parse(line) else { continue };
        let shown = g.to_string();
        assert_eq!(shown, line, "a grant that parses prints as it was written");
        assert_eq!(Grant::parse(&shown).as_ref(), Ok(&g));
        assert_eq!(line.parse::<Grant>().as_ref(), Ok(&g));
        assert_eq!(Grant::new(g.resource(), g.action(), g.namespace()).as_ref(), Ok(&g));
        assert!(g.covers(&g));
        assert_eq!(g.meet(&g).as_ref(), Some(&g));
        assert!(grant::holds(std::slice::from_ref(&g), &g));
        assert!(grant::allows(std::slice::from_ref(&g), g.resource(), g.action(), g.namespace()));
        parsed.push(g);
    }
    assert_eq!(grant::parse_all(&parsed.iter().map(Grant::to_string).collect::<Vec<_>>()).as_ref(), Ok(&parsed));
    parsed.truncate(12);

    for a in &parsed {
        for b in &parsed {
            match a.meet(b) {
                Some(m) => {
                    assert!(a.covers(&m) && b.covers(&m), "{a} ∧ {b} = {m} is covered by both");
                    assert_eq!(b.meet(a).as_ref(), Some(&m), "meet is commutative");
                    assert_eq!(Grant::parse(&m.to_string()).as_ref(), Ok(&m));
                }
                None => assert!(b.meet(a).is_none() && !a.covers(b) && !b.covers(a)),
            }
            if a.covers(b) {
                assert!(grant::holds(std::slice::from_ref(a), b), "{a} covers {b} so it holds it");
                assert_eq!(a.meet(b).as_ref(), Some(b));
            }
        }
    }

    let normal = grant::normalize(parsed.clone());
    assert_eq!(grant::normalize(normal.clone()), normal, "normalize is idempotent");
    for g in &parsed {
        assert!(grant::holds(&normal, g), "normalizing {parsed:?} lost {g}");
        assert!(grant::missing(&normal, g).is_none());
    }

    // A client's grants (first half) under its owner's (second half).
    let (granted, owner) = parsed.split_at(parsed.len() / 2);
    let effective = grant::effective(granted, owner);
    for e in &effective {
        assert!(grant::holds(owner, e), "effective {e} exceeds the owner's {owner:?}");
        assert!(grant::holds(granted, e), "effective {e} exceeds the client's {granted:?}");
    }
    let dropped = grant::dropped(granted, owner);
    for g in granted {
        let was_dropped = dropped.iter().any(|d| &d.grant == g);
        assert_eq!(was_dropped, !grant::holds(owner, g), "{g} under {owner:?}");
        if !was_dropped {
            assert!(grant::holds(&effective, g), "{g} is fully held so it is effective");
        }
    }
});
