// example: tag and redact transcripts with the C++ wrapper.
//
//   usage: example MODEL_DIR [TEXT...]
//   $ ./build/example ../../tests/fixtures/tiny "priya sharma lives in delhi"
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "pii.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: example MODEL_DIR [TEXT...]\n";
        return 2;
    }
    std::vector<std::string> texts(argv + 2, argv + argc);
    if (texts.empty())
        texts = {"hi this is priya sharma from delhi my number is nine eight double seven oh one"};
    try {
        pii::Model model = pii::Model::load(argv[1]);
        std::cout << "pii " << pii::version() << ", onnxruntime " << pii::onnxruntime_version() << ", "
                  << model.label_count() << " labels\n";
        for (const std::string& text : texts) {
            std::cout << text << "\n";
            for (const pii::Span& s : model.tag(text)) {
                char score[16];
                std::snprintf(score, sizeof score, "%.3f", static_cast<double>(s.score));
                std::cout << "  " << s.start << ".." << s.end << "  " << s.label << "  " << score
                          << (s.pii ? "  pii  " : "  -    ") << '"' << s.text << "\"\n";
            }
            std::cout << "  redacted: " << model.redact(text) << "\n";
            std::cout << "  all:      " << model.redact(text, true) << "\n";
        }
    } catch (const pii::Error& e) {
        std::cerr << "example: " << e.what() << " (" << e.status_str() << ")\n";
        return 1;
    }
    return 0;
}
