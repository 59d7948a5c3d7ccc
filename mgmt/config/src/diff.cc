#include "sbc/mgmt/config/diff.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <sstream>

namespace sbc::mgmt::config {
namespace {

constexpr int kContext = 3;
// Myers keeps one frontier per edit step; past this many ints of trace (64 MiB) the
// texts are so different that "all removed, all added" is as readable and far cheaper.
constexpr size_t kMaxTraceInts = size_t{16} << 20;

enum class Op { kKeep, kDelete, kInsert };
struct Edit {
  Op op;
  int from_line;  // index into `from` (kKeep, kDelete)
  int to_line;    // index into `to` (kKeep, kInsert)
};

std::vector<Edit> ReplaceAll(int n, int m) {
  std::vector<Edit> edits;
  edits.reserve(static_cast<size_t>(n) + static_cast<size_t>(m));
  for (int i = 0; i < n; ++i) edits.push_back({Op::kDelete, i, 0});
  for (int j = 0; j < m; ++j) edits.push_back({Op::kInsert, n, j});
  return edits;
}

// Myers' greedy shortest edit script, with the V array saved per step to backtrack.
std::vector<Edit> ShortestEdit(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  const int max = n + m, offset = max + 1;
  std::vector<int> v(2 * max + 3, 0);
  std::vector<std::vector<int>> trace;
  for (int d = 0; d <= max; ++d) {
    if ((trace.size() + 1) * v.size() > kMaxTraceInts) return ReplaceAll(n, m);
    trace.push_back(v);
    bool done = false;
    for (int k = -d; k <= d && !done; k += 2) {
      int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                  ? v[offset + k + 1]
                  : v[offset + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y;
      v[offset + k] = x;
      done = x >= n && y >= m;
    }
    if (done) break;
  }
  // Walk back from (n, m) through the saved frontiers.
  std::vector<Edit> edits;
  int x = n, y = m;
  for (int d = static_cast<int>(trace.size()) - 1; d >= 0; --d) {
    const std::vector<int>& vd = trace[d];
    const int k = x - y;
    const bool down = k == -d || (k != d && vd[offset + k - 1] < vd[offset + k + 1]);
    const int prev_k = down ? k + 1 : k - 1;
    const int prev_x = vd[offset + prev_k];
    const int prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) edits.push_back({Op::kKeep, --x, --y});
    if (d > 0) {
      if (down)
        edits.push_back({Op::kInsert, x, --y});
      else
        edits.push_back({Op::kDelete, --x, y});
    }
  }
  std::reverse(edits.begin(), edits.end());
  return edits;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

std::string UnifiedDiff(const std::vector<std::string>& from, const std::vector<std::string>& to,
                        std::string_view from_label, std::string_view to_label) {
  const std::vector<Edit> edits = ShortestEdit(from, to);
  if (std::all_of(edits.begin(), edits.end(), [](const Edit& e) { return e.op == Op::kKeep; }))
    return "";
  std::ostringstream out;
  out << "--- " << from_label << "\n+++ " << to_label << "\n";
  size_t i = 0;
  while (i < edits.size()) {
    // Find the next change, then extend the hunk while changes are within 2*context.
    while (i < edits.size() && edits[i].op == Op::kKeep) ++i;
    if (i == edits.size()) break;
    const size_t start = i >= kContext ? i - kContext : 0;
    size_t end = i;
    size_t keeps = 0;
    for (size_t j = i; j < edits.size(); ++j) {
      if (edits[j].op == Op::kKeep) {
        if (++keeps > 2 * size_t{kContext}) break;
      } else {
        keeps = 0;
        end = j;
      }
    }
    end = std::min(edits.size() - 1, end + kContext);
    int from_count = 0, to_count = 0;
    for (size_t j = start; j <= end; ++j) {
      if (edits[j].op != Op::kInsert) ++from_count;
      if (edits[j].op != Op::kDelete) ++to_count;
    }
    out << "@@ -" << edits[start].from_line + (from_count ? 1 : 0) << "," << from_count << " +"
        << edits[start].to_line + (to_count ? 1 : 0) << "," << to_count << " @@\n";
    for (size_t j = start; j <= end; ++j) {
      const Edit& e = edits[j];
      if (e.op == Op::kKeep) out << " " << from[e.from_line] << "\n";
      if (e.op == Op::kDelete) out << "-" << from[e.from_line] << "\n";
      if (e.op == Op::kInsert) out << "+" << to[e.to_line] << "\n";
    }
    i = end + 1;
  }
  return out.str();
}

std::string DiffConfigs(const schema::ApplianceConfig& from, const schema::ApplianceConfig& to,
                        std::string_view from_label, std::string_view to_label) {
  std::string a, b;
  google::protobuf::TextFormat::PrintToString(from, &a);
  google::protobuf::TextFormat::PrintToString(to, &b);
  return UnifiedDiff(SplitLines(a), SplitLines(b), from_label, to_label);
}

}  // namespace sbc::mgmt::config
