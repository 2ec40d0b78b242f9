package io.taskbroker.dashboard;

import static io.taskbroker.dashboard.DashboardTestSupport.READ_ONLY;
import static io.taskbroker.dashboard.DashboardTestSupport.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Database;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.HandBack;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The pages in a real Chromium (Debian's {@code chromium} and {@code chromium-driver}), driven by
 * Selenium against a real dashboard, database and worker. Missing Chromium fails the test: the
 * README and {@code .ci/run} say how to install it. Screenshots go to {@code
 * target/dashboard-screenshots}.
 */
@WithPostgres
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path SHOTS = Path.of("target", "dashboard-screenshots");

  private static TaskBrokerClient client;
  private static Dashboard dashboard;
  private static Worker worker;
  private static final CountDownLatch release = new CountDownLatch(1);
  private WebDriver driver;
  private WebDriverWait wait;
  private String testName;

  /** Reports progress, then waits until the test lets it finish (or it is cancelled). */
  static final class SlowPlugin implements TaskPlugin {
    @Override
    public String name() {
      return "slow";
    }

    @Override
    public JsonNode execute(TaskContext context) throws Exception {
      context.reportProgress(0.42, "halfway there");
      while (!release.await(50, TimeUnit.MILLISECONDS)) {
        context.throwIfCancelled();
      }
      return Json.object().put("done", true);
    }
  }

  @BeforeAll
  static void start(TestDatabase db) throws IOException {
    assertThat(CHROMIUM)
        .as("the browser tests need Debian's chromium: apt-get install -y chromium chromium-driver")
        .exists();
    assertThat(DRIVER)
        .as("the browser tests need Debian's chromium-driver: apt-get install -y chromium-driver")
        .exists();
    Files.createDirectories(SHOTS);
    client = DashboardTestSupport.client(db);
    Database database = client.database();
    worker =
        Worker.start(
            database,
            WorkerConfig.builder()
                .queue("live", 2)
                .lease(Duration.ofSeconds(2))
                .heartbeatInterval(Duration.ofMillis(200))
                .pollInterval(Duration.ofMillis(200))
                .build(),
            PluginRegistry.of(List.of(new SlowPlugin())));
    dashboard =
        Dashboard.builder()
            .client(client)
            .token(TOKEN)
            .readOnlyToken(READ_ONLY)
            .statsInterval(Duration.ofMillis(300))
            .build()
            .start(0);
  }

  @AfterAll
  static void stop() {
    release.countDown();
    if (dashboard != null) {
      dashboard.close();
    }
    if (worker != null) {
      worker.shutdown(Duration.ofSeconds(5), HandBack.REFUND);
    }
    if (client != null) {
      client.close();
    }
  }

  @BeforeEach
  void openBrowser(TestInfo info) {
    testName = info.getTestMethod().orElseThrow().getName();
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900");
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(DRIVER.toFile())
            .usingAnyFreePort()
            .build();
    driver = new ChromeDriver(service, options);
    wait = new WebDriverWait(driver, Duration.ofSeconds(15));
  }

  @AfterEach
  void closeBrowser() throws IOException {
    if (driver != null) {
      shot("end");
      driver.quit();
    }
  }

  private void shot(String step) throws IOException {
    byte[] png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES);
    Files.write(SHOTS.resolve(testName + "-" + step + ".png"), png);
  }

  private String url(String hash) {
    return "http://127.0.0.1:" + dashboard.port() + "/" + hash;
  }

  private void signIn(String token) {
    driver.get(url(""));
    WebElement field = wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    field.sendKeys(token);
    driver.findElement(By.id("signin-submit")).click();
  }

  private void signedIn(String token) {
    signIn(token);
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
  }

  private UUID failedJob(String queue, String plugin, String error) throws Exception {
    UUID id = UUID.randomUUID();
    try (var connection = client.database().dataSource().getConnection();
        var insert =
            connection.prepareStatement(
                "INSERT INTO taskbroker.jobs (id, queue, plugin, status, attempt, completed_at,"
                    + " error) VALUES (?, ?, ?, 'failed', 1, now(), ?)")) {
      insert.setObject(1, id);
      insert.setString(2, queue);
      insert.setString(3, plugin);
      insert.setString(4, error);
      insert.executeUpdate();
    }
    return id;
  }

  @Test
  void signInWithAWrongTokenIsRefused() throws IOException {
    signIn("certainly-not-the-token");
    WebElement error =
        wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("signin-error")));
    wait.until(ExpectedConditions.textToBePresentInElement(error, "Sign-in refused"));
    assertThat(driver.findElement(By.id("nav")).isDisplayed()).isFalse();
    shot("refused");
  }

  @Test
  void theOverviewShowsEveryQueueWithLiveCounts() throws IOException {
    client.submitAll(
        List.of(
            NewJob.builder("nobody-runs-this").queue("overview").build(),
            NewJob.builder("nobody-runs-this").queue("overview").build(),
            NewJob.builder("nobody-runs-this")
                .queue("overview")
                .delay(Duration.ofHours(2))
                .build()));
    signedIn(TOKEN);
    By ready = By.cssSelector("#queues tr[data-queue='overview'] td.ready");
    wait.until(ExpectedConditions.textToBe(ready, "2"));
    // Located afresh on each try: every push redraws the table, so an element found once can go
    // stale before it is read (CI saw it).
    wait.until(
        ExpectedConditions.textToBe(
            By.cssSelector("#queues tr[data-queue='overview'] td.scheduled"), "1"));
    // Pushed, not polled by the page: a new job shows up without a reload.
    client.submit(NewJob.builder("nobody-runs-this").queue("overview").build());
    wait.until(ExpectedConditions.textToBe(ready, "3"));
    assertThat(driver.findElements(By.cssSelector("#queues tr[data-queue='live']"))).hasSize(1);
    // Keyboard focus survives the redraw of every push: it moves to the same link of the new table.
    JavascriptExecutor js = (JavascriptExecutor) driver;
    WebElement link =
        (WebElement)
            js.executeScript(
                "const a = document.querySelector(\"#queues tr[data-queue='overview'] a\");"
                    + " a.focus(); return a;");
    wait.until(ExpectedConditions.stalenessOf(link));
    assertThat(
            js.executeScript(
                "const e = document.activeElement;"
                    + " return e.closest('tr') && e.closest('tr').getAttribute('data-queue');"))
        .isEqualTo("overview");
    // The queue's limits, from taskbroker.queues, arrive with the next push too.
    client
        .queues()
        .setLimits(
            "overview",
            io.taskbroker.common.QueueLimits.builder()
                .globalConcurrency(4)
                .rate(10, Duration.ofMinutes(1))
                .build());
    wait.until(
        ExpectedConditions.textToBe(
            By.cssSelector("#queues tr[data-queue='overview'] td.limits"),
            "≤ 4 running · 10 / 1 min"));
    shot("overview");
  }

  @Test
  void jobsAreFilteredByStatusQueueAndErrorText() throws Exception {
    UUID disk = failedJob("filtering", "report", "disk full on /var");
    failedJob("filtering", "report", "connection refused");
    client.submit(NewJob.builder("report").queue("filtering").delay(Duration.ofHours(1)).build());
    signedIn(TOKEN);
    driver.get(url("#/jobs"));
    new org.openqa.selenium.support.ui.Select(
            wait.until(ExpectedConditions.elementToBeClickable(By.id("f-status"))))
        .selectByValue("failed");
    driver.findElement(By.id("f-queue")).sendKeys("filtering");
    driver.findElement(By.id("f-q")).sendKeys("disk");
    driver.findElement(By.id("f-apply")).click();
    wait.until(ExpectedConditions.urlContains("q=disk"));
    wait.until(
        ExpectedConditions.numberOfElementsToBe(By.cssSelector("#jobs tbody tr[data-id]"), 1));
    assertThat(
            driver.findElement(By.cssSelector("#jobs tbody tr[data-id]")).getAttribute("data-id"))
        .isEqualTo(disk.toString());
    shot("filtered");
  }

  @Test
  void aJobsDetailShowsLiveProgressAndCancelEndsIt() throws IOException {
    UUID id =
        client.submit(
            NewJob.builder("slow")
                .queue("live")
                .payload(java.util.Map.of("password", "hunter2"))
                .build());
    signedIn(TOKEN);
    driver.get(url("#/jobs/" + id));
    wait.until(ExpectedConditions.textToBe(By.id("job-status"), "running"));
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.id("job-progress-text"), "42 % · halfway there"));
    assertThat(driver.findElement(By.id("job-payload")).getText())
        .contains("[redacted]")
        .doesNotContain("hunter2");
    shot("progress");
    driver.findElement(By.id("job-cancel")).click();
    wait.until(ExpectedConditions.textToBe(By.id("job-status"), "cancelled"));
    assertThat(client.require(id).status()).isEqualTo(JobStatus.CANCELLED);
    shot("cancelled");
  }

  @Test
  void aReadOnlyTokenSeesNoActionButtons() throws Exception {
    UUID failed = failedJob("readonly", "report", "boom");
    signedIn(READ_ONLY);
    driver.get(url("#/jobs/" + failed));
    wait.until(ExpectedConditions.textToBe(By.id("job-status"), "failed"));
    assertThat(driver.findElements(By.cssSelector("#job-actions button"))).isEmpty();
    driver.get(url("#/jobs?status=failed"));
    wait.until(
        ExpectedConditions.presenceOfElementLocated(By.cssSelector("#jobs tbody tr[data-id]")));
    assertThat(driver.findElements(By.cssSelector("#bulk button"))).isEmpty();
    driver.get(url("#/"));
    wait.until(
        ExpectedConditions.presenceOfElementLocated(By.cssSelector("#queues tr[data-queue]")));
    assertThat(driver.findElements(By.cssSelector("#queues button"))).isEmpty();
    assertThat(driver.findElement(By.id("who")).getText()).contains("read_only");
    shot("read-only");
  }

  @Test
  void retryAndBulkRetryOnAFilterAndPauseAndResumeAQueue() throws Exception {
    UUID one = failedJob("retrying", "slow", "first");
    failedJob("bulk", "slow", "a");
    failedJob("bulk", "slow", "b");
    signedIn(TOKEN);
    driver.get(url("#/jobs/" + one));
    wait.until(ExpectedConditions.elementToBeClickable(By.id("job-retry"))).click();
    wait.until(ExpectedConditions.not(ExpectedConditions.textToBe(By.id("job-status"), "failed")));
    assertThat(client.require(one).status()).isEqualTo(JobStatus.PENDING);

    driver.get(url("#/jobs?status=failed&queue=bulk"));
    wait.until(ExpectedConditions.elementToBeClickable(By.id("bulk-retry"))).click();
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.id("confirm-text"), "Retry 2 failed jobs in queue bulk?"));
    shot("bulk-confirm");
    driver.findElement(By.id("confirm-yes")).click();
    wait.until(
        d ->
            client
                .list(
                    io.taskbroker.common.JobQuery.builder()
                        .queue("bulk")
                        .status(JobStatus.FAILED)
                        .build())
                .isEmpty());

    driver.get(url("#/"));
    clickRedrawn(By.cssSelector("#queues tr[data-queue='bulk'] button.pause"));
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.cssSelector("#queues tr[data-queue='bulk'] .paused"), "paused"));
    assertThat(client.queues().get("bulk").orElseThrow().paused()).isTrue();
    shot("paused");
    clickRedrawn(By.cssSelector("#queues tr[data-queue='bulk'] button.resume"));
    wait.until(
        ExpectedConditions.presenceOfElementLocated(
            By.cssSelector("#queues tr[data-queue='bulk'] button.pause")));
    assertThat(client.queues().get("bulk").orElseThrow().paused()).isFalse();
  }

  /**
   * Clicks an element of the queues table, which every stats push draws anew: an element found just
   * before a push is gone by the click, so find it again until one click lands.
   */
  private void clickRedrawn(By locator) {
    wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class)
        .until(
            d -> {
              d.findElement(locator).click();
              return true;
            });
  }

  @Test
  void aSlowPageThatAnswersAfterALaterNavigationDrawsNothing() throws IOException {
    signedIn(TOKEN);
    driver.get(url("#/charts"));
    wait.until(ExpectedConditions.presenceOfElementLocated(By.id("chart-throughput")));
    JavascriptExecutor js = (JavascriptExecutor) driver;
    // Hold the workers page's answer until the test lets it go; once it is handed to the page, a
    // macrotask marks it: every step the page takes on it (JSON, then drawing) is a microtask,
    // so they have all run when the mark is set.
    js.executeScript(
        "const real = window.fetch;"
            + "let release; const held = new Promise(r => release = r);"
            + "window.releaseWorkers = release; window.staleDone = false;"
            + "window.fetch = (url, opts) => {"
            + "  if (!String(url).startsWith('api/workers')) return real(url, opts);"
            + "  return held.then(() => real(url, opts)).then(res => {"
            + "    const json = res.json.bind(res);"
            + "    res.json = () => json().then(d => {"
            + "      setTimeout(() => window.staleDone = true, 0); return d; });"
            + "    return res; });"
            + "};");
    js.executeScript("location.hash = '#/workers';");
    js.executeScript("location.hash = '#/schedules';");
    wait.until(ExpectedConditions.presenceOfElementLocated(By.id("schedules")));
    js.executeScript("window.releaseWorkers();");
    wait.until(d -> Boolean.TRUE.equals(js.executeScript("return window.staleDone;")));
    assertThat(driver.findElements(By.id("workers")))
        .as("the workers page, answered after the schedules page, must not replace it")
        .isEmpty();
    assertThat(driver.findElements(By.id("schedules"))).hasSize(1);
    assertThat(
            driver.findElement(By.cssSelector("#nav a[aria-current='page']")).getAttribute("href"))
        .endsWith("#/schedules");
    shot("latest-wins");
  }

  @Test
  void thePhoneLayoutAndTheOtherPagesRender() throws IOException {
    signedIn(TOKEN);
    for (String[] page :
        List.of(
            new String[] {"#/workers", "workers"},
            new String[] {"#/schedules", "schedules"},
            new String[] {"#/charts", "chart-throughput"})) {
      // One page at a time: each navigation waits for its own page before the next.
      driver.get(url(page[0]));
      wait.until(ExpectedConditions.presenceOfElementLocated(By.id(page[1])));
    }
    driver.get(url("#/workers"));
    wait.until(
        ExpectedConditions.presenceOfElementLocated(By.cssSelector("#workers tr[data-worker]")));
    wait.until(
        ExpectedConditions.textMatches(
            By.cssSelector("#workers tr[data-worker]"),
            java.util.regex.Pattern.compile("healthy")));
    driver.manage().window().setSize(new org.openqa.selenium.Dimension(390, 844));
    driver.get(url("#/"));
    wait.until(
        ExpectedConditions.presenceOfElementLocated(By.cssSelector("#queues tr[data-queue]")));
    shot("phone");
  }
}
