#pragma once

// The record library's coroutine vocabulary, for its own .cpp files: written once, so that they
// can be compiled together (MASTOTAPE_UNITY) without two definitions of it meeting.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mastotape::record {

// An awaited operation that reports its error code (and result) as a tuple instead of throwing.
inline constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace mastotape::record
