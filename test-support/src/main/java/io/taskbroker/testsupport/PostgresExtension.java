package io.taskbroker.testsupport;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives each test class a fresh {@link TestDatabase} on the shared {@link PostgresServer} and drops
 * it after the class. Register it with {@code @ExtendWith(PostgresExtension.class)}, with {@link
 * WithPostgres}, or as a {@code static} {@code @RegisterExtension} field.
 *
 * <p>A parameter of type {@code TestDatabase} is resolved in constructors and in {@code BeforeAll},
 * {@code BeforeEach}, {@code AfterEach}, {@code AfterAll} and test methods; within one class they
 * all get the same database. {@code @Nested} classes share the database of their outermost class,
 * as they share its state.
 *
 * <p>Stateless and thread-safe: the database lives in the JUnit store of the outermost class, so
 * one instance serves test classes running in parallel.
 */
public final class PostgresExtension
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(PostgresExtension.class);
  private static final String DATABASE_KEY = "database";

  @Override
  public void beforeAll(ExtensionContext context) {
    // Created here rather than on first use so that a missing server fails the class up front.
    database(context);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (isOutermostClass(context)) {
      TestDatabase database = context.getStore(NAMESPACE).remove(DATABASE_KEY, TestDatabase.class);
      if (database != null) {
        database.close();
      }
    }
  }

  @Override
  public boolean supportsParameter(
      ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == TestDatabase.class;
  }

  @Override
  public Object resolveParameter(
      ParameterContext parameterContext, ExtensionContext extensionContext) {
    // Also reached before beforeAll: with a per-class lifecycle the instance comes first.
    return database(extensionContext);
  }

  private static TestDatabase database(ExtensionContext context) {
    ExtensionContext classContext = outermostClass(context);
    return classContext
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(
            DATABASE_KEY, key -> PostgresServer.get().createDatabase(), TestDatabase.class);
  }

  private static ExtensionContext outermostClass(ExtensionContext context) {
    ExtensionContext current = context;
    while (current.getParent().flatMap(ExtensionContext::getTestClass).isPresent()) {
      current = current.getParent().orElseThrow();
    }
    return current;
  }

  private static boolean isOutermostClass(ExtensionContext context) {
    return outermostClass(context) == context;
  }
}
