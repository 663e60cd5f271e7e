//! Building DNS queries ([`Ask`]) and reading answers, with hickory-proto's
//! `Message` so the wire format is checked by an independent implementation.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU16, Ordering};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

/// One query to send, with every knob the DNS rules need.
#[derive(Clone, Debug)]
pub struct Ask {
    /// Query name as typed (case is kept; a trailing dot is added).
    pub name: String,
    /// Query type.
    pub qtype: RecordType,
    /// Query class, 1 = IN.
    pub qclass: u16,
    /// `Some((udp size, version))` adds an OPT record.
    pub edns: Option<(u16, u8)>,
    /// Header opcode (0 = QUERY).
    pub opcode: u8,
    /// Recursion desired.
    pub rd: bool,
    /// Checking disabled.
    pub cd: bool,
    /// Message id.
    pub id: u16,
}

impl Ask {
    /// A plain QUERY for `name`/`qtype`, class IN, no EDNS, RD clear.
    pub fn new(name: &str, qtype: RecordType) -> Ask {
        static NEXT_ID: AtomicU16 = AtomicU16::new(1);
        Ask {
            name: name.to_string(),
            qtype,
            qclass: 1,
            edns: None,
            opcode: 0,
            rd: false,
            cd: false,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Adds EDNS(0) with this UDP payload size.
    pub fn edns(mut self, udp_size: u16) -> Ask {
        self.edns = Some((udp_size, 0));
        self
    }

    /// Adds EDNS with this version and a 1232-byte payload size.
    pub fn edns_version(mut self, version: u8) -> Ask {
        self.edns = Some((1232, version));
        self
    }

    /// Sets the query class.
    pub fn qclass(mut self, qclass: u16) -> Ask {
        self.qclass = qclass;
        self
    }

    /// Sets the header opcode.
    pub fn opcode(mut self, opcode: u8) -> Ask {
        self.opcode = opcode;
        self
    }

    /// Sets RD.
    pub fn rd(mut self, rd: bool) -> Ask {
        self.rd = rd;
        self
    }

    /// Sets CD.
    pub fn cd(mut self, cd: bool) -> Ask {
        self.cd = cd;
        self
    }

    /// The query on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut msg = Message::new(self.id, MessageType::Query, OpCode::from_u8(self.opcode));
        msg.metadata.recursion_desired = self.rd;
        msg.metadata.checking_disabled = self.cd;
        let mut name = Name::from_ascii(&self.name).expect("query name");
        name.set_fqdn(true);
        let mut query = Query::query(name, self.qtype);
        query.set_query_class(DNSClass::from(self.qclass));
        msg.add_query(query);
        if let Some((size, version)) = self.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(size).set_version(version);
            msg.set_edns(edns);
        }
        msg.to_vec().expect("encode query")
    }
}

/// Parses a response, panicking with the raw bytes when it is not valid DNS.
pub fn decode(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).unwrap_or_else(|e| panic!("bad DNS response ({e}): {bytes:02x?}"))
}

/// The full (extended) response code: header RCODE plus OPT's upper bits.
pub fn rcode(msg: &Message) -> u16 {
    u16::from(msg.metadata.response_code)
}

/// The A addresses in the answer section, in order.
pub fn a_addrs(msg: &Message) -> Vec<Ipv4Addr> {
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// The AAAA addresses in the answer section, in order.
pub fn aaaa_addrs(msg: &Message) -> Vec<Ipv6Addr> {
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::AAAA(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// The record types in the answer section, in order.
pub fn answer_types(msg: &Message) -> Vec<RecordType> {
    msg.answers.iter().map(|r| r.record_type()).collect()
}

/// Every TXT string in the answer section, each record's strings joined.
pub fn txt_strings(msg: &Message) -> Vec<String> {
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

/// One UDP query to `server` without the [`crate::support::Hale`] harness
/// (for the compiled binary): `None` when nothing answers within `wait`.
pub async fn udp_ask(
    server: std::net::SocketAddr,
    ask: &Ask,
    wait: std::time::Duration,
) -> Option<Message> {
    let local = if server.is_ipv6() {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    };
    let socket = tokio::net::UdpSocket::bind(local).await.ok()?;
    socket.connect(server).await.ok()?;
    socket.send(&ask.to_bytes()).await.ok()?;
    let mut buf = vec![0u8; 65535];
    // A refused port (nothing bound yet) shows up as a receive error.
    let n = tokio::time::timeout(wait, socket.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    let msg = Message::from_vec(&buf[..n]).ok()?;
    (msg.metadata.id == ask.id).then_some(msg)
}
