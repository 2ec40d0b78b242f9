package io.taskbroker.spring;

import io.taskbroker.testsupport.PostgresServer;
import io.taskbroker.testsupport.TestDatabase;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh database per Spring test class, dropped after the class. Declare it with
 * {@code @ExtendWith} above {@code @SpringBootTest} and mark the class {@code @DirtiesContext}:
 * JUnit runs after-all callbacks in reverse order of registration, so the drop comes after Spring
 * closed the class's context (its worker drained, its pool closed), never under a live pool.
 */
final class DatabasePerTestClass implements AfterAllCallback {
  private static final Map<Class<?>, TestDatabase> DATABASES = new ConcurrentHashMap<>();

  static TestDatabase of(Class<?> testClass) {
    return DATABASES.computeIfAbsent(testClass, type -> PostgresServer.get().createDatabase());
  }

  @Override
  public void afterAll(ExtensionContext context) {
    TestDatabase database = DATABASES.remove(context.getRequiredTestClass());
    if (database != null) {
      database.close();
    }
  }
}
