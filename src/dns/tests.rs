//! Bytes in, bytes out: the parts of the answer path that need hand-built packets.

use std::sync::Arc;

use hickory_proto::op::{Message, MessageType, OpCode, Query as HQuery, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use super::*;
use crate::zones::ZoneSet;

fn view() -> (tempfile::TempDir, View) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from(
        "$TTL 300\n@ SOA ns1 h 1 3600 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.2\n",
    );
    for i in 0..40 {
        text.push_str(&format!("big TXT \"{i:0>100}\"\n"));
    }
    let path = dir.path().join("example.com.zone");
    std::fs::write(&path, text).expect("write zone");
    let zones = ZoneSet::load(&[path]).expect("zone loads");
    (dir, View::new(Arc::new(zones), Default::default()))
}

fn query(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 0x1234;
    m.add_query(HQuery::query(Name::from_ascii(name).expect("name"), rtype));
    m.to_vec().expect("encode")
}

fn ask(view: &View, msg: &[u8], transport: Transport) -> Option<Message> {
    let mut out = Vec::new();
    respond(view, msg, transport, &mut out)
        .map(|_| Message::from_vec(&out).expect("response parses"))
}

#[test]
fn garbage_and_responses_are_dropped() {
    let (_d, v) = view();
    assert!(ask(&v, &[1, 2, 3], Transport::Udp).is_none());
    let mut msg = query("www.example.com.", RecordType::A);
    msg[2] |= 0x80; // QR
    assert!(ask(&v, &msg, Transport::Udp).is_none());
}

#[test]
fn malformed_questions_get_formerr_with_id() {
    let (_d, v) = view();
    let good = query("www.example.com.", RecordType::A);
    // Cut inside the question.
    let r = ask(&v, &good[..good.len() - 3], Transport::Udp).expect("reply");
    assert_eq!(
        (r.metadata.id, r.metadata.response_code),
        (0x1234, ResponseCode::FormErr)
    );
    // QDCOUNT 2.
    let mut two = good.clone();
    two[5] = 2;
    let r = ask(&v, &two, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    // A compression pointer to itself.
    let mut looped = good[..12].to_vec();
    looped.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    let r = ask(&v, &looped, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    // ARCOUNT claims a record that is not there.
    let mut missing = good.clone();
    missing[11] = 1;
    let r = ask(&v, &missing, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
}

#[test]
fn opt_rules() {
    let (_d, v) = view();
    let opt = [0u8, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0];
    let mut with_opt = query("www.example.com.", RecordType::A);
    with_opt[11] = 1;
    with_opt.extend_from_slice(&opt);
    let r = ask(&v, &with_opt, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.edns.is_some(), "OPT answered with OPT");

    let mut two = with_opt.clone();
    two[11] = 2;
    two.extend_from_slice(&opt);
    let r = ask(&v, &two, Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);

    let mut v1 = with_opt.clone();
    let n = v1.len();
    v1[n - 5] = 1; // EDNS version
    let r = ask(&v, &v1, Transport::Udp).expect("reply");
    // 16 is BADVERS in an OPT context (hickory names it BADSIG).
    assert_eq!(u16::from(r.metadata.response_code), 16);
    assert_eq!(r.edns.as_ref().map(|e| e.version()), Some(0));
}

#[test]
fn unknown_opcode_is_notimp_with_bare_header() {
    let (_d, v) = view();
    let mut msg = query("www.example.com.", RecordType::A);
    msg[2] = (3 << 3) | 0x01; // opcode 3, RD
    let mut out = Vec::new();
    assert_eq!(
        respond(&v, &msg, Transport::Udp, &mut out),
        Some(Rcode::NotImp)
    );
    assert_eq!(out.len(), 12, "header only");
    assert_eq!(out[2], 0x80 | (3 << 3), "QR and opcode only");
    assert_eq!(out[3] & 0xF, 4);
    let r = Message::from_vec(&out).expect("parses");
    assert_eq!(r.metadata.op_code, OpCode::Unknown(3));
    assert_eq!(r.metadata.message_type, MessageType::Response);
}

#[test]
fn udp_truncates_and_tcp_does_not() {
    let (_d, v) = view();
    let msg = query("big.example.com.", RecordType::TXT);
    let r = ask(&v, &msg, Transport::Udp).expect("reply");
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    let r = ask(&v, &msg, Transport::Tcp).expect("reply");
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 40);
}

#[test]
fn classes_other_than_in_are_refused() {
    let (_d, v) = view();
    let mut m = Message::query();
    let mut q = HQuery::query(
        Name::from_ascii("www.example.com.").expect("name"),
        RecordType::A,
    );
    q.set_query_class(DNSClass::CH);
    m.add_query(q);
    let r = ask(&v, &m.to_vec().expect("encode"), Transport::Udp).expect("reply");
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(!r.metadata.authoritative);
}
