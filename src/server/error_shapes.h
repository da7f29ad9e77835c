// Error bodies in each protocol's shape: what a route group's ErrorShaper turns an HttpError into.
// The status is the error's; error.headers are added by shape_error (server/http_server.h).
#pragma once

#include <string>
#include <string_view>

#include "server/http_server.h"

namespace sluice::server {

// The native API's shape, and the server's own: {"error": "message"} and a newline, as
// application/json. Invalid UTF-8 in the message (which may quote the client's bytes) is replaced.
ErrorShaper native_json_errors();

// The AWS JSON 1.1 protocol's shape (Kinesis, Firehose, Glue, Athena): {"__type": "Code", "message":
// "...", detail members...} as application/x-amz-json-1.1, with the code in x-amzn-ErrorType too.
ErrorShaper aws_json_errors();

// S3's REST shape: <?xml ...?><Error><Code>…</Code><Message>…</Message>detail elements…
// <Resource>/path</Resource></Error> as application/xml. Text is escaped for XML; characters XML
// cannot carry, and invalid UTF-8, become U+FFFD.
ErrorShaper s3_xml_errors();

// `text` escaped for an XML element or attribute value (& < > " '), with what XML 1.0 cannot carry
// (control characters but tab and newlines, invalid UTF-8) replaced by U+FFFD. Never throws (but for
// std::bad_alloc).
std::string xml_escape(std::string_view text);

}  // namespace sluice::server
