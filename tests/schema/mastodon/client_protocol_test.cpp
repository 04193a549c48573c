// What a recorded event's label means, read in one place (issue 37: it was read three ways, one
// by string prefix).

#include "schema/mastodon/client_protocol.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using namespace mastotape::schema;

TEST_CASE("A label names one subscription, and matches the subscriptions that receive it") {
    const struct {
        const char* label;
        std::optional<Subscription> named;
    } labels[] = {
        {R"(["user"])", Subscription{"user", ""}},
        {R"(["user:notification"])", Subscription{"user:notification", ""}},
        {R"(["hashtag","rust"])", Subscription{"hashtag", "rust"}},
        {R"(["hashtag:local","Rust"])", Subscription{"hashtag:local", "Rust"}},
        {R"(["list","42"])", Subscription{"list", "42"}},
        {R"(["list",42])", Subscription{"list", "42"}},  // an id written as a number
        {R"(["public:local"])", Subscription{"public:local", ""}},
        {R"(["hashtag",{}])", std::nullopt},
        {R"([])", std::nullopt},
        {R"([7])", std::nullopt},
        {R"("user")", std::nullopt},
        {R"(["user")", std::nullopt},
    };
    for (const auto& l : labels) {
        INFO(l.label);
        CHECK(subscription_of_label(l.label) == l.named);
    }
    const struct {
        const char* label;
        Subscription s;
        bool matches;
    } cases[] = {
        {R"(["user"])", {"user", ""}, true},
        {R"(["user"])", {"public", ""}, false},
        {R"(["public:local"])", {"public", ""}, false},
        {R"(["hashtag","Rust"])", {"hashtag", "rust"}, true},  // the server folds a tag's case
        {R"(["hashtag","rust"])", {"hashtag", "go"}, false},
        {R"(["list","42"])", {"list", "42"}, true},
        {R"(["list","42"])", {"list", "43"}, false},
        {R"(["list","Ab"])", {"list", "ab"}, false},  // only tags fold
        {R"(["hashtag"])", {"hashtag", "rust"}, false},
        {R"(["hashtag",{}])", {"hashtag", ""}, false},
    };
    for (const auto& c : cases) {
        INFO(c.label << " for " << c.s.spec());
        CHECK(label_matches(c.label, c.s) == c.matches);
    }
}
