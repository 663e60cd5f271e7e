//! Owns loading one zone file: read, parse, check the zone as a whole
//! (SOA, CNAME rules, origin), and build its [`Zone`].

use super::*;

pub(super) fn load_zone(path: &Path) -> Result<Zone, ZoneError> {
    load_zone_read(path, Some((PARALLEL_MIN, records::BATCH)))
}

/// [`load_zone`], reading the file a record at a time when it can, on every
/// core from `parallel_min` bytes, in batches of `batch` (`by_record`);
/// else (`None`) with one parse of the whole file.
pub(super) fn load_zone_read(
    path: &Path,
    by_record: Option<(usize, usize)>,
) -> Result<Zone, ZoneError> {
    let invalid = |line: usize, problem: ZoneProblem| ZoneError::Invalid {
        path: path.to_path_buf(),
        line,
        problem: Box::new(problem),
    };
    let hint = origin_from_file_name(path);
    let text = scan::read_text(path)?;
    // Once, before anything else reads the text: the checks below then see
    // what the parser reads.
    let text = match rewrite::rewrite(&text, hint.as_ref()) {
        Ok(Some(rewritten)) => rewritten,
        Ok(None) => text,
        Err((at, problem)) => return Err(invalid(1 + lines_before(&text, at), problem.into())),
    };
    // Before hickory follows any `$INCLUDE` or misreads `\#` data.
    scan::check(path, &text)?;

    let t0 = tokio::time::Instant::now();
    let cores = crate::parallel::cores();
    // A prefix of the file fails as the whole does: the parser's error or
    // the first record check that fails.
    let fails = |prefix: &str| first_error(parse(prefix, path, hint.clone()), None);

    let hasher = foldhash::fast::RandomState::default();
    let mut build = Builder::new(&hasher, text.len() / 24);
    let read = by_record.and_then(|(parallel_min, batch)| {
        let threads = if text.len() < parallel_min { 1 } else { cores };
        records::read(&text, &hint, threads, batch, &hasher, |records| {
            build.add(records)
        })
    });
    // The line of an offset in the file.
    let line_of = |at: usize| 1 + lines_before(&text, at);
    // Read a record at a time, each record's offset is known; parsed whole,
    // errors are searched for by parsing prefixes.
    if let Some((at, problem)) = build.conflict.take() {
        return Err(invalid(line_of(at), problem));
    }
    let whole = match read {
        Some(Ok(())) => false,
        Some(Err((at, line, problem))) => return Err(invalid(line_of(at) + line - 1, problem)),
        None => {
            // Give back the first builder's room before taking it again.
            drop(build);
            build = Builder::new(&hasher, text.len() / 24);
            let read = parse(&text, path, hint.clone()).and_then(|parsed| {
                check_records(&parsed, None)?;
                build.add(
                    &mut parsed
                        .into_iter()
                        .map(|(name, rtype, _, ttl, rdata)| Rec {
                            hash: hasher.hash_one(&name),
                            name,
                            at: 0,
                            rtype,
                            ttl,
                            data: rdata.into(),
                        })
                        .collect(),
                );
                Ok(())
            });
            if let Err(problem) = read {
                return Err(locate(path, &text, problem, 0, fails));
            }
            true
        }
    };
    let Builder {
        mut nodes,
        soas,
        outside,
        ..
    } = build;

    tracing::debug!(file = %path.display(), ms = t0.elapsed().as_millis() as u64, "zone file read");
    // Two SOAs at different names (hickory rejects two at one name): the
    // apex would be whichever came first, and the error would fall on every
    // record of the other zone. Name both, at the line of the second.
    if let [a, b, ..] = &soas[..] {
        let problem = || ZoneProblem::TwoSoas {
            first: Box::new(a.0.clone()),
            second: Box::new(b.0.clone()),
        };
        let is_soa = |_: &Name, t: RecordType| t == RecordType::SOA;
        return Err(locate_pair(path, &text, &hint, problem, is_soa, |seen| {
            seen.len() > 1
        }));
    }
    // The apex is where the SOA is.
    let Some((origin, soa_ttl, soa_rdata)) = soas.into_iter().next() else {
        return Err(invalid(1, ZoneProblem::NoSoa));
    };
    let negative_ttl = match &soa_rdata {
        RData::SOA(s) => soa_ttl.min(s.minimum),
        _ => soa_ttl,
    };
    let soa_record = Record::from_rdata(origin.clone(), soa_ttl, soa_rdata);

    let t1 = tokio::time::Instant::now();
    if let Some((at, name)) = outside {
        let problem = ZoneProblem::OutsideZone {
            name: Box::new(name),
            origin: Box::new(origin.clone()),
        };
        if !whole {
            return Err(invalid(line_of(at), problem));
        }
        let fails = |prefix: &str| first_error(parse(prefix, path, hint.clone()), Some(&origin));
        return Err(locate(path, &text, problem, 0, fails));
    }
    if nodes
        .get(&origin)
        .and_then(|apex| apex.get(RecordType::NS))
        .is_none()
    {
        return Err(invalid(
            1,
            ZoneProblem::NoApexNs {
                origin: Box::new(origin),
            },
        ));
    }
    tracing::debug!(ms = t1.elapsed().as_millis() as u64, "records checked");

    let t2 = tokio::time::Instant::now();
    // Empty non-terminals: every missing name between an owner and the
    // apex, up to the first ancestor already known. (Most names sit right
    // below the apex: no ancestor to make.)
    let apex_labels = label_count(&origin);
    // The list only grows: the names filed from the file are its first `filed`.
    let filed = nodes.list.len();
    for i in 0..filed {
        let mut up = nodes.list[i].0.clone();
        while label_count(&up) > apex_labels + 1 {
            up = up.base_name();
            let hash = nodes.hasher.hash_one(&up);
            if nodes.position_hashed(&up, hash).is_some() {
                break;
            }
            nodes.entry_owned(up.clone(), hash);
        }
    }
    tracing::debug!(ms = t2.elapsed().as_millis() as u64, "nodes built");
    for (name, node) in nodes.iter_mut() {
        node.is_cut = *name != origin && node.get(RecordType::NS).is_some();
        // CNAME and other data (RFC 1034 §3.6.2). Its two lines may be far
        // apart, in pieces parsed apart: `locate_pair` finds the second.
        if node.get(RecordType::CNAME).is_some()
            && let Some(other) = node.rrsets.iter().find(|s| s.rtype != RecordType::CNAME)
        {
            let problem = || ZoneProblem::CnameAndOther {
                name: Box::new(name.clone()),
                other: other.rtype,
            };
            let here = |n: &Name, _: RecordType| same_name(n, name);
            let both = |seen: &Seen| {
                seen.iter().any(|r| r.1 == RecordType::CNAME)
                    && seen.iter().any(|r| r.1 != RecordType::CNAME)
            };
            return Err(locate_pair(path, &text, &hint, problem, here, both));
        }
    }

    // The list was sized from the file's length.
    nodes.list.shrink_to_fit();
    Ok(Zone {
        origin,
        file: path.to_path_buf(),
        nodes,
        soa: soa_record,
        negative_ttl,
    })
}
