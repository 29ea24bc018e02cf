//! `page_size` and `page_token` of every list (`domain::PageRequest`): a token is opaque to
//! callers, so any string may arrive. No panic; what decodes is a short non-empty key; the
//! token a page hands out leads to the key it was made from.
#![no_main]

use gatehouse::domain::PageRequest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&size, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let page_size = (size != 0).then_some(u32::from(size));
    match PageRequest::new(page_size, Some(text)) {
        Ok(page) => {
            assert!((1..=200).contains(&page.size));
            let after = page.after.expect("a token decodes to a key");
            assert!(!after.is_empty() && after.len() <= 64);
        }
        Err(e) => assert!(matches!(e, gatehouse::error::Error::Invalid { .. })),
    }

    // Keys are ids and sequence numbers: 1 to 64 bytes. A page's token leads to its last key.
    let key = text.chars().take(64).collect::<String>();
    if !key.is_empty() && key.len() <= 64 {
        let page = PageRequest::new(Some(1), None).unwrap();
        let (items, next) = page.finish(vec![key.clone(), "next".into()], Clone::clone);
        assert_eq!(items, vec![key.clone()]);
        let next = next.expect("a further page");
        assert!(next.len() <= 200, "tokens fit the 200-character limit of page_token");
        assert_eq!(PageRequest::new(None, Some(&next)).unwrap().after, Some(key));
    }
});
