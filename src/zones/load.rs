//! Owns loading one zone file: read its records into nodes, check the zone
//! as a whole (an SOA, NS at the apex), add empty non-terminals, and build
//! its [`Zone`].

use super::*;

/// Loads the zone file at `path`; `previous`, the zone it made last time,
/// lends the nodes that did not change ([`Builder::share_last`]).
/// `bytes` are the file's, `print` their fingerprint.
pub(super) fn load_zone(
    path: &Path,
    bytes: &[u8],
    print: u64,
    previous: Option<Arc<Zone>>,
) -> Result<Zone, ZoneError> {
    let t0 = tokio::time::Instant::now();
    let hint = origin_from_file_name(path);
    let hasher = foldhash::fast::RandomState::default();
    // About 24 bytes of text per name in big zones: room for the names
    // without growing (and copying) the list as it fills.
    let mut build = Builder::new(&hasher, bytes.len() / 24, previous);
    let mut reader = Reader::new(path, hint.as_ref(), &hasher, |records| build.add(records));
    let read = reader.read(path, bytes);
    let files = std::mem::take(&mut reader.files);
    drop(reader);
    build.share_last();
    if let Err((at, problem)) = read {
        return Err(located(&files, at, problem));
    }
    let Builder {
        mut nodes,
        soa,
        dnames,
        nsec3,
        ..
    } = build;
    tracing::debug!(file = %path.display(), ms = t0.elapsed().as_millis() as u64, "zone file read");

    // The apex is where the SOA is.
    let invalid = |problem: ZoneProblem| ZoneError::Invalid {
        path: path.to_path_buf(),
        line: 1,
        column: 0,
        problem: Box::new(problem),
    };
    let Some((origin, soa_ttl, soa_rdata)) = soa else {
        return Err(invalid(ZoneProblem::NoSoa));
    };
    let negative_ttl = match &soa_rdata {
        RData::SOA(s) => soa_ttl.min(s.minimum),
        _ => soa_ttl,
    };
    let soa_record = Record::from_rdata(origin.clone(), soa_ttl, soa_rdata);
    let t1 = tokio::time::Instant::now();
    if nodes
        .get(&origin)
        .and_then(|apex| apex.get(RecordType::NS))
        .is_none()
    {
        return Err(invalid(ZoneProblem::NoApexNs {
            origin: Box::new(origin),
        }));
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
            let hash = name_hash(&nodes.hasher, &up);
            if nodes.position_hashed(&up, hash).is_some() {
                break;
            }
            nodes.entry_owned(up.clone(), hash);
        }
    }
    tracing::debug!(ms = t2.elapsed().as_millis() as u64, "nodes built");
    for entry in nodes.list.iter_mut() {
        // Written only where it changes: a node shared with the previous
        // zone stays shared.
        let cut = entry.1.get(RecordType::NS).is_some() && entry.0 != origin;
        if entry.1.is_cut != cut {
            Arc::make_mut(entry).1.is_cut = cut;
        }
    }
    // No data below a DNAME (RFC 6672 §2.3, and NSD refuses the zone): named
    // at the DNAME, whose line is known, with a name below it.
    let dname_at: HashMap<&Name, Where> = dnames.iter().map(|(n, at)| (n, *at)).collect();
    // Zones without a DNAME (nearly all) are not walked.
    let walked = if dnames.is_empty() {
        0
    } else {
        nodes.list.len()
    };
    for (below, node) in nodes.iter().take(walked) {
        if node.rrsets.is_empty() {
            continue;
        }
        let mut up = below.clone();
        while label_count(&up) > label_count(&origin) {
            up = up.base_name();
            if let Some(at) = dname_at.get(&up) {
                let problem = ZoneProblem::BelowDname {
                    owner: Box::new(up.clone()),
                    below: Box::new(below.clone()),
                };
                return Err(located(&files, *at, problem));
            }
        }
    }
    let has_dname = !dnames.is_empty();

    // The list was sized from the file's length.
    nodes.list.shrink_to_fit();
    Ok(Zone {
        origin,
        file: path.to_path_buf(),
        nodes,
        soa: soa_record,
        negative_ttl,
        has_dname,
        nsec3: nsec3_nodes(nsec3),
        // A zone read from other files too is read again at every reload.
        print: (files.list.len() == 1).then_some(print),
    })
}

/// The error at `at` in one of `files`, with the `$INCLUDE`s that led there.
fn located(files: &Files, at: Where, problem: ZoneProblem) -> ZoneError {
    let file = |i: u32| files.list.get(i as usize);
    let mut problem = problem;
    let mut inner = at.file;
    while let Some((_, Some(from))) = file(inner) {
        problem = ZoneProblem::Included {
            problem: Box::new(problem),
            from: file(from.file).map(|f| f.0.clone()).unwrap_or_default(),
            line: from.line as usize,
        };
        inner = from.file;
    }
    ZoneError::Invalid {
        path: file(at.file).map(|f| f.0.clone()).unwrap_or_default(),
        line: at.line as usize,
        column: at.column as usize,
        problem: Box::new(problem),
    }
}

/// NSEC3 records grouped by owner, as nodes.
fn nsec3_nodes(mut records: Vec<Rec>) -> Vec<(Name, Node)> {
    records.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<(Name, Node)> = Vec::new();
    for r in records {
        match out.last_mut() {
            Some((name, node)) if *name == r.name => node.push(r.rtype, r.ttl, r.data),
            _ => {
                let mut node = Node::default();
                node.push(r.rtype, r.ttl, r.data);
                out.push((r.name, node));
            }
        }
    }
    out
}
