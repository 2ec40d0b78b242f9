package io.taskbroker.testsupport;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Enforces that {@code internal} is more than a name: a module's internal packages are used by that
 * module and by the modules {@link #FRIENDS} lists, never by an application, a plugin or another
 * module. Each module's test runs {@link #violationsIn(Class)} over its own compiled classes, so a
 * forbidden import fails that module's build. Stateless; thread-safe.
 *
 * <p>A module is known by the first two segments after {@code io.taskbroker} ({@code
 * io.taskbroker.worker} for {@code io.taskbroker.worker.producer.Producer}); a class outside {@code
 * io.taskbroker} (an application's) is a module of its own that may use no internal package.
 *
 * <p>Why class files and not JPMS: {@code module-info} with qualified exports would be the stronger
 * fence, but the application embeds taskbroker on the class path (where exports do not apply), and
 * Flyway's scan of the packaged migrations, Jdbi's and Jackson's reflection and surefire's module
 * patching all need care on the module path. Reading the constant pool of every class sees each
 * reference the compiler emitted (types in signatures, fields, calls, casts, annotations), whatever
 * the import style.
 */
public final class InternalPackages {

  /**
   * Internal packages → the modules allowed to use them besides their own. A package named {@code
   * internal} (and below) belongs to its module; {@code io.taskbroker.common.sql} is internal by
   * decision: it is the SQL that api and worker share, not an API.
   */
  public static final Map<String, Set<String>> FRIENDS =
      Map.of(
          "io.taskbroker.common.sql", Set.of("io.taskbroker.api", "io.taskbroker.worker"),
          "io.taskbroker.api.internal", Set.of("io.taskbroker.worker", "io.taskbroker.dashboard"));

  private static final String ROOT = "io/taskbroker/";

  // A class name in internal form inside a descriptor or signature: io/taskbroker/x/y/Name.
  private static final Pattern CLASS_NAME = Pattern.compile("io/taskbroker/[A-Za-z0-9_$/]+");

  private InternalPackages() {}

  /**
   * Every use of an internal package that its module does not allow, by the classes compiled into
   * the same directory or jar as {@code anyClassOfTheModule}: one line per using class and used
   * package, sorted; empty when there is none.
   */
  public static List<String> violationsIn(Class<?> anyClassOfTheModule) {
    try {
      Path location =
          Path.of(anyClassOfTheModule.getProtectionDomain().getCodeSource().getLocation().toURI());
      return violationsIn(location);
    } catch (URISyntaxException e) {
      throw new IllegalStateException("cannot locate the classes of " + anyClassOfTheModule, e);
    }
  }

  /** As {@link #violationsIn(Class)}, over the classes in this directory or jar. */
  public static List<String> violationsIn(Path classes) {
    if (Files.isDirectory(classes)) {
      return scan(classes);
    }
    try (FileSystem jar = FileSystems.newFileSystem(classes)) {
      return scan(jar.getPath("/"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + classes, e);
    }
  }

  /**
   * Whether a class of {@code userModule} may use {@code usedPackage}: any package that is not
   * internal, or an internal one of its own module or of a module that lists it as a friend.
   */
  public static boolean allowed(String userModule, String usedPackage) {
    String owner = internalOwner(usedPackage);
    if (owner == null || owner.equals(userModule)) {
      return true;
    }
    return FRIENDS.entrySet().stream()
        .filter(entry -> within(usedPackage, entry.getKey()))
        .anyMatch(entry -> entry.getValue().contains(userModule));
  }

  /** The module of a class or package name: {@code io.taskbroker.<name>}, else the name itself. */
  public static String moduleOf(String dottedName) {
    String[] parts = dottedName.split("\\.");
    if (parts.length >= 3 && parts[0].equals("io") && parts[1].equals("taskbroker")) {
      return "io.taskbroker." + parts[2];
    }
    return dottedName;
  }

  /** The module owning an internal package, or null when the package is not internal. */
  private static String internalOwner(String dottedPackage) {
    for (String internal : FRIENDS.keySet()) {
      if (within(dottedPackage, internal)) {
        return moduleOf(internal);
      }
    }
    String[] parts = dottedPackage.split("\\.");
    for (int i = 3; i < parts.length; i++) {
      if (parts[i].equals("internal")) {
        return moduleOf(dottedPackage);
      }
    }
    return null;
  }

  private static boolean within(String dottedPackage, String parent) {
    return dottedPackage.equals(parent) || dottedPackage.startsWith(parent + ".");
  }

  private static List<String> scan(Path root) {
    Set<String> found = new TreeSet<>();
    try (Stream<Path> files = Files.walk(root)) {
      List<Path> classFiles =
          files.filter(file -> file.toString().endsWith(".class")).sorted().toList();
      for (Path file : classFiles) {
        String relative = root.relativize(file).toString().replace('\\', '/');
        if (relative.endsWith("module-info.class") || relative.startsWith("META-INF/")) {
          continue;
        }
        String className = relative.substring(0, relative.length() - ".class".length());
        String userModule = moduleOf(className.replace('/', '.'));
        for (String used : referencedPackages(file)) {
          if (!allowed(userModule, used)) {
            found.add(className.replace('/', '.') + " uses " + used);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the classes under " + root, e);
    }
    return List.copyOf(found);
  }

  /**
   * The taskbroker packages a class file refers to: from every name in its constant pool except
   * string literals (a resource path such as {@code io/taskbroker/common/sql/claim_jobs.sql} is
   * text, not a use of the package).
   */
  static Set<String> referencedPackages(Path classFile) throws IOException {
    List<String> names = new ArrayList<>();
    try (InputStream in = Files.newInputStream(classFile);
        DataInputStream data = new DataInputStream(in)) {
      if (data.readInt() != 0xCAFEBABE) {
        throw new IOException(classFile + " is not a class file");
      }
      data.readUnsignedShort(); // minor version
      data.readUnsignedShort(); // major version
      int count = data.readUnsignedShort();
      String[] utf8 = new String[count];
      Set<Integer> literals = new HashSet<>();
      Set<Integer> nonLiterals = new HashSet<>();
      for (int index = 1; index < count; index++) {
        int tag = data.readUnsignedByte();
        switch (tag) {
          case 1 -> utf8[index] = data.readUTF();
          case 7, 16, 19, 20 -> nonLiterals.add(data.readUnsignedShort()); // class, type, module
          case 8 -> literals.add(data.readUnsignedShort()); // string literal
          case 3, 4 -> data.readInt();
          case 5, 6 -> {
            data.readLong();
            index++; // a long or double takes two entries
          }
          case 9, 10, 11, 12, 17, 18 -> data.readInt(); // refs, name-and-type, dynamic
          case 15 -> {
            data.readUnsignedByte();
            data.readUnsignedShort();
          }
          default -> throw new IOException(classFile + ": unknown constant pool tag " + tag);
        }
      }
      for (int index = 1; index < count; index++) {
        // A string literal's text counts only if the same entry also names a type.
        if (utf8[index] != null && (!literals.contains(index) || nonLiterals.contains(index))) {
          names.add(utf8[index]);
        }
      }
    }
    Set<String> packages = new TreeSet<>();
    for (String name : names) {
      if (!name.contains(ROOT)) {
        continue;
      }
      Matcher matcher = CLASS_NAME.matcher(name);
      while (matcher.find()) {
        String className = matcher.group();
        int slash = className.lastIndexOf('/');
        packages.add(className.substring(0, slash).replace('/', '.'));
      }
    }
    return packages;
  }
}
