// `mastotape completion bash`: a bash completion script read off the CLI's own definition (the
// subcommands and their options as CLI11 holds them; stream names, fault kinds, frame kinds and
// compression choices from the lists the commands themselves check against), so it cannot drift.
// `mastotape completion subcommands` lists the subcommands, for the scripts that document them.

#include <iostream>
#include <memory>
#include <set>

#include "replay/faults.hpp"
#include "schema/mastodon/streams.hpp"
#include "schema/ops/synth.hpp"
#include "schema/ops/tape_diff.hpp"
#include "schema/tape/model.hpp"
#include "tools/commands.hpp"
#include "tools/man_page.hpp"

namespace mastotape::tools {
namespace {

// The values option `option` of subcommand `sub` takes, as a `compgen` word list (-W), from the
// lists the commands check against; "" when nobody can guess them.
std::string values_of(const std::string& sub, const std::string& option) {
    std::set<std::string> words;
    if (option == "--stream") {
        for (const auto& s : schema::all_streams()) {
            words.insert(std::string(s.name) + (s.param == schema::StreamParam::none ? "" : "="));
        }
    } else if (option == "--fault") {
        for (const auto name : replay::kFaultNames) {
            words.insert(std::string(name) + "=");
        }
    } else if (option == "--transport") {
        words = {"websocket", "sse"};
    } else if (option == "--compress") {
        words = {"zstd", "none", "zstd:1", "zstd:19"};
    } else if (option == "--kind") {
        for (int k = 0; k <= static_cast<int>(schema::FrameKind::comment); ++k) {
            words.insert(std::string(schema::to_string(static_cast<schema::FrameKind>(k))));
        }
        words.insert({"connection", "gap", "client", "backfill"});
    } else if (option == "--token-in") {
        words = {"header", "query", "subprotocol"};
    } else if (option == "--format" && sub == "export") {
        words = {"jsonl", "har"};
    } else if (option == "--format" && sub == "plot") {
        words = {"svg", "html"};
    } else if (option == "--connection-ends") {
        for (const auto cause : schema::synth_connection_ends()) {
            words.insert(std::string(schema::to_string(cause)));
        }
    } else if (option == "--event") {
        for (const auto& s : schema::all_streams()) {
            for (const auto e : s.events) {
                words.insert(std::string(e));
            }
        }
    } else if (option == "--ignore") {
        words = schema::diff_aspects();
    }
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out.empty() ? "" : "-W '" + out + "'";
}

// Options whose value is a file.
bool takes_file(const std::string& option) {
    static const std::set<std::string> kFiles{
        "--db",      "--out",    "-o",           "--output",    "--report",       "--tls-cert",
        "--tls-key", "--cacert", "--token-file", "--port-file", "--json-log-file"};
    return kFiles.count(option) != 0;
}

std::vector<const CLI::App*> subcommands(const CLI::App& app) {
    return app.get_subcommands([](const CLI::App*) { return true; });
}

// A `case "$sub $prev"` branch for each option that takes a value: its words (without the
// space after a `name=`, for the value that follows), files and folders (a folder with its `/`),
// or nothing.
std::string value_branches(const CLI::App& sub) {
    std::string out;
    for (const CLI::Option* o : sub.get_options()) {
        if (o->get_items_expected_min() == 0) {
            continue;
        }
        std::vector<std::string> names;
        for (const auto& l : o->get_lnames()) {
            names.push_back("--" + l);
        }
        for (const auto& s : o->get_snames()) {
            names.push_back("-" + s);
        }
        for (const auto& name : names) {
            const std::string pattern = "        \"" + sub.get_name() + " " + name + "\") ";
            if (takes_file(name)) {
                out += pattern;
                out += "_mastotape_files; return ;;\n";
            } else if (const std::string words = values_of(sub.get_name(), name); !words.empty()) {
                out += pattern;
                out += "COMPREPLY=($(compgen " + words +
                       " -- \"$cur\"))\n"
                       "            [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && "
                       "compopt -o nospace 2> /dev/null\n"
                       "            return ;;\n";
            } else {
                out += pattern + "return ;;\n";  // a value nobody can guess
            }
        }
    }
    return out;
}

std::string bash_script(const CLI::App& app) {
    std::string names;
    std::string per_sub;
    std::string by_option;
    for (const CLI::App* sub : subcommands(app)) {
        names += " " + sub->get_name();
        std::string opts;
        for (const CLI::Option* o : sub->get_options()) {
            for (const auto& l : o->get_lnames()) {
                opts += " --" + l;
            }
            for (const auto& s : o->get_snames()) {
                opts += " -" + s;
            }
        }
        per_sub += "        " + sub->get_name() + ") opts='" + opts.substr(1) + "' ;;\n";
        by_option += value_branches(*sub);
    }
    return "# bash completion for mastotape; generated by `mastotape completion bash`.\n"
           "_mastotape_files() {\n"
           "    compopt -o filenames 2> /dev/null\n"
           "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "}\n"
           "_mastotape() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} sub= i opts\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        case ${COMP_WORDS[i]} in -*) ;; *) sub=${COMP_WORDS[i]}; break ;; esac\n"
           "    done\n"
           "    if [[ -z $sub ]]; then\n"
           "        COMPREPLY=($(compgen -W '" +
           names.substr(1) +
           " --help --version' -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    case \"$sub $prev\" in\n" +
           by_option +
           "    esac\n"
           "    case $sub in\n" +
           per_sub +
           "        *) return ;;\n"
           "    esac\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
           "    else\n"
           "        _mastotape_files\n"
           "    fi\n"
           "}\n"
           "complete -F _mastotape mastotape\n";
}

}  // namespace

void add_completion_command(CLI::App& app, Runner& run) {
    auto what = std::make_shared<std::string>();
    auto page = std::make_shared<std::string>();
    auto* sub = app.add_subcommand(
        "completion",
        "Print a bash completion script (`mastotape completion bash > "
        "/etc/bash_completion.d/mastotape`), the list of subcommands, or a man page in roff "
        "(`mastotape completion man replay`)");
    sub->add_option("WHAT", *what, "bash, subcommands or man")
        ->required()
        ->check(CLI::IsMember({"bash", "subcommands", "man"}));
    sub->add_option("SUBCOMMAND", *page, "With man: the subcommand's page (default: mastotape(1))");
    sub->callback([what, page, &app, &run] {
        run = [what, page, &app] {
            if (*what == "bash") {
                std::cout << bash_script(app);
            } else if (*what == "man") {
                const CLI::App* of = nullptr;
                if (!page->empty()) {
                    of = app.get_subcommand(*page);
                }
                std::cout << man_page(app, of, "mastotape " MASTOTAPE_VERSION);
            } else {
                for (const CLI::App* s : subcommands(app)) {
                    std::cout << s->get_name() << '\n';
                }
            }
            return kExitOk;
        };
    });
}

}  // namespace mastotape::tools
