package io.taskbroker.cli.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Prometheus text exposition, parsed into samples for assertions (tests only). */
record Scrape(List<Sample> samples) {
  private static final Pattern LINE =
      Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+\\S+)?$");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

  record Sample(String name, Map<String, String> labels, double value) {}

  static Scrape parse(String text) {
    List<Sample> samples = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher matcher = LINE.matcher(line);
      if (!matcher.matches()) {
        throw new AssertionError("not a sample line: " + line);
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (matcher.group(2) != null) {
        Matcher label = LABEL.matcher(matcher.group(2));
        while (label.find()) {
          labels.put(label.group(1), label.group(2));
        }
      }
      samples.add(new Sample(matcher.group(1), labels, Double.parseDouble(matcher.group(3))));
    }
    return new Scrape(samples);
  }

  /** The one sample of this name whose labels include these; fails when none or several. */
  double value(String name, Map<String, String> labels) {
    List<Sample> matching = matching(name, labels);
    if (matching.size() != 1) {
      throw new AssertionError(
          matching.size() + " samples " + name + labels + " (want exactly one): " + matching);
    }
    return matching.get(0).value();
  }

  /** How many samples of this name have these labels (e.g. histogram buckets). */
  int count(String name, Map<String, String> labels) {
    return matching(name, labels).size();
  }

  /** The sum of every sample of this name; zero when there is none. */
  double sum(String name) {
    return matching(name, Map.of()).stream().mapToDouble(Sample::value).sum();
  }

  private List<Sample> matching(String name, Map<String, String> labels) {
    return samples.stream()
        .filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(labels.entrySet()))
        .toList();
  }
}
