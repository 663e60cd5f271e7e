//! Owns writing a response for the general path: sections collected by the
//! resolver, encoded with hickory-proto's encoder, truncated to the
//! transport's limit (TC) with optional data dropped first.

use hickory_proto::rr::{Name, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use super::Rcode;
use super::cookie::{self, Reply};
use super::query::Query;
use super::slow::Depends;
use super::wire::{AA, ADVERTISED_UDP_PAYLOAD, QR, RD, TC};
use crate::zones::RdataRef;

/// Room kept for the OPT record we append: root name, type, class, TTL, RDLENGTH.
const OPT_LEN: usize = 11;
/// And for an Extended DNS Error option in it.
const EDE_LEN: usize = 6;

/// One record to write: owner, type, TTL, data.
#[derive(Clone, Copy)]
pub(super) struct Rr<'a> {
    /// Owner name (the question's own name when it is the owner, for compression).
    pub(super) owner: &'a Name,
    /// Record type.
    pub(super) rtype: RecordType,
    /// TTL to send.
    pub(super) ttl: u32,
    /// Record data.
    pub(super) rdata: RdataRef<'a>,
}

/// The sections of a response, before encoding.
#[derive(Default)]
pub(super) struct Sections<'a> {
    /// Answer section.
    pub(super) answer: Vec<Rr<'a>>,
    /// Authority section.
    pub(super) authority: Vec<Rr<'a>>,
    /// Additional section (without OPT).
    pub(super) additional: Vec<Rr<'a>>,
    /// The authority section is the apex NS set of a positive answer: nice to
    /// have, so it is left out rather than truncating when it does not fit.
    pub(super) authority_optional: bool,
    /// Extended DNS Error (RFC 8914) to explain a refusal or a SERVFAIL:
    /// info code and extra text (empty for none).
    pub(super) ede: Option<(u16, &'a str)>,
    /// The COOKIE option to send back, when the query carried one and
    /// cookies are on.
    pub(super) cookie: Option<Reply>,
    /// The additional section is a referral's glue: set TC rather than drop it.
    pub(super) glue_required: bool,
    /// What the sections were made from (the answer table keeps only
    /// answers made from the zones alone).
    pub(super) depends: Depends,
}

/// Writes the response; on overflow of `limit` drops answer and authority and sets TC.
pub(super) fn encode(
    out: &mut Vec<u8>,
    q: &Query,
    rcode: Rcode,
    mut aa: bool,
    s: &Sections<'_>,
    limit: usize,
) -> Option<Rcode> {
    let mut rcode = rcode;
    // The OPT, its EDE and COOKIE, and a TSIG record to come.
    let reserve = q.reserve
        + match (&q.edns, s.ede) {
            (None, _) => 0,
            (Some(_), None) => OPT_LEN,
            (Some(_), Some((_, text))) => OPT_LEN + EDE_LEN + text.len(),
        }
        + match (&q.edns, s.cookie) {
            (Some(_), Some(_)) => cookie::OPTION_LEN,
            _ => 0,
        };
    let mut counts = [1u16, 0, 0, 0];
    let mut tc = false;
    {
        let mut enc = BinEncoder::new(out);
        let ok = enc.emit_vec(&[0; 12]).is_ok()
            && q.qname.emit(&mut enc).is_ok()
            && enc.emit_u16(q.qtype).is_ok()
            && enc.emit_u16(q.qclass).is_ok();
        if !ok {
            return None;
        }
        let after_question = enc.offset();
        let fits = |enc: &BinEncoder<'_>| enc.offset() + reserve <= limit;
        let mut ok = true;
        for rr in &s.answer {
            ok = ok && emit_rr(&mut enc, rr) && fits(&enc);
        }
        let after_answer = enc.offset();
        let mut authority_ok = true;
        for rr in &s.authority {
            authority_ok = authority_ok && emit_rr(&mut enc, rr) && fits(&enc);
        }
        let mut additional = true;
        if ok && !authority_ok && s.authority_optional {
            enc.set_offset(after_answer);
            enc.trim();
            counts[1] = s.answer.len() as u16;
            additional = false;
        } else if ok && authority_ok {
            counts[1] = s.answer.len() as u16;
            counts[2] = s.authority.len() as u16;
        } else {
            ok = false;
        }
        if ok && additional {
            // Additional data is optional: stop at the first record that does not fit.
            for rr in &s.additional {
                let mark = enc.offset();
                if !(emit_rr(&mut enc, rr) && fits(&enc)) {
                    enc.set_offset(mark);
                    enc.trim();
                    // Except glue a referral cannot work without (RFC 9471).
                    tc = s.glue_required;
                    break;
                }
                counts[3] += 1;
            }
        } else if !ok {
            enc.set_offset(after_question);
            enc.trim();
            if limit == u16::MAX as usize {
                // Over TCP there is no bigger message to retry with.
                rcode = Rcode::ServFail;
                aa = false;
            } else {
                tc = true;
            }
        }
        if let Some(edns) = q.edns {
            // The extended rcode's upper 8 bits live in the OPT TTL.
            let ext = ((rcode as u16) >> 4) as u32;
            let ttl = (ext << 24) | if edns.dnssec_ok { 0x8000 } else { 0 };
            let mut options = Vec::new();
            if let Some((code, text)) = s.ede {
                // OPTION-CODE 15, OPTION-LENGTH, INFO-CODE, EXTRA-TEXT.
                let len = 2 + text.len().min(usize::from(u16::MAX) - 8) as u16;
                options.extend_from_slice(&[0, 15]);
                options.extend_from_slice(&len.to_be_bytes());
                options.extend_from_slice(&code.to_be_bytes());
                options.extend_from_slice(&text.as_bytes()[..usize::from(len) - 2]);
            }
            // After EDE, as the fast path writes them.
            if let Some(cookie) = &s.cookie {
                cookie.write(&mut options);
            }
            let ok = enc.emit(0).is_ok()
                && enc.emit_u16(u16::from(RecordType::OPT)).is_ok()
                && enc.emit_u16(ADVERTISED_UDP_PAYLOAD).is_ok()
                && enc.emit_u32(ttl).is_ok()
                && enc.emit_u16(options.len() as u16).is_ok()
                && enc.emit_vec(&options).is_ok();
            if !ok {
                return None;
            }
            counts[3] += 1;
        }
    }
    // RD is echoed (RFC 1035 §4.1.1); CD is not, as NSD and Knot do without DNSSEC.
    let mut flags = QR | (q.flags & RD) | (rcode as u16 & 0xF);
    if aa {
        flags |= AA;
    }
    if tc {
        flags |= TC;
    }
    out[0..2].copy_from_slice(&q.id.to_be_bytes());
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    for (i, c) in counts.iter().enumerate() {
        out[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
    }
    Some(rcode)
}

/// Writes one record; false when the encoder failed.
pub(super) fn emit_rr(enc: &mut BinEncoder<'_>, rr: &Rr<'_>) -> bool {
    let head = rr.owner.emit(enc).is_ok()
        && enc.emit_u16(u16::from(rr.rtype)).is_ok()
        && enc.emit_u16(1).is_ok()
        && enc.emit_u32(rr.ttl).is_ok();
    if !head {
        return false;
    }
    let Ok(place) = enc.place::<u16>() else {
        return false;
    };
    let written = match rr.rdata {
        RdataRef::V4(ip) => enc.emit_vec(&ip.octets()),
        RdataRef::V6(ip) => enc.emit_vec(&ip.octets()),
        RdataRef::Full(rdata) => rdata.emit(enc),
    };
    if written.is_err() {
        return false;
    }
    let len = enc.len_since_place(&place);
    u16::try_from(len).is_ok_and(|len| place.replace(enc, len).is_ok())
}
