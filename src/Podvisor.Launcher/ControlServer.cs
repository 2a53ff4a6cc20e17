using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Podvisor.Api.Control;

namespace Podvisor.Launcher;

/// <summary>
/// The launcher's control API, HTTPS on the pod's control port (docs/launcher-pod.md):
/// <c>GET /readyz</c> (200 while the guest runs: the pod's readiness probe, no credentials, as the kubelet
/// sends none) and <c>GET /healthz</c>; with <c>Authorization: Bearer TOKEN</c>, <c>GET /v1/status</c> and
/// <c>PUT /v1/pause</c>, <c>/v1/unpause</c>, <c>/v1/shutdown</c> (ACPI power button), <c>/v1/stop</c> (hard), and
/// <c>GET /v1/console</c>, the serial console as a WebSocket (binary frames both ways: the guest's output from the
/// moment of attaching; what the client sends is typed). The token may also come as <c>X-Podvisor-Token</c>: the
/// API server's pod proxy, which <c>podvisor console</c> goes through, drops <c>Authorization</c> once it has
/// authenticated the user. Without a token file the authenticated part is closed (403), never open.
/// Migration (the operator's side of docs/migration.md): <c>PUT /v1/migrate</c> with a <see cref="MigrateRequest"/>
/// starts sending the VM to a target launcher; <c>GET /v1/migration</c> follows either side's progress;
/// <c>DELETE /v1/migration</c> cancels it (the VM runs on here) until the handover.
/// </summary>
public sealed class ControlServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ControlServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The port listened on (the one asked for, or the one the system chose for port 0).</summary>
    public int Port { get; }

    public static async Task<ControlServer> StartAsync(IVmControl vm, IPAddress address, int port, byte[]? token, X509Certificate2 certificate,
        CancellationToken cancellationToken = default) => await StartAsync(vm, console: null, address, port, token, certificate, log: null, cancellationToken);

    /// <param name="console">The guest's console for <c>/v1/console</c> (none: 404).</param>
    /// <param name="log">Where a migration's progress lines go.</param>
    public static async Task<ControlServer> StartAsync(IVmControl vm, ConsoleAccess? console, IPAddress address, int port, byte[]? token,
        X509Certificate2 certificate, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        log ??= _ => { };
        var app = LauncherWebHost.CreateBuilder(kestrel => kestrel.Listen(address, port, listen => listen.UseHttps(certificate))).Build();
        app.UseWebSockets();

        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", () =>
        {
            string state = vm.Status.State;
            return Results.Text($"{state}\n", statusCode: state == "Running" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

        var api = app.MapGroup("/v1").AddEndpointFilter(async (context, next) =>
        {
            if (token is null) return Error(StatusCodes.Status403Forbidden, "the control API is closed: this launcher was started without --control-token-file");
            if (!Authorized(context.HttpContext.Request, token))
                return Error(StatusCodes.Status401Unauthorized, "send the launcher's token as Authorization: Bearer TOKEN");
            return await next(context);
        });
        api.MapGet("/status", () => Results.Json(vm.Status, ControlJsonContext.Default.VmStatus));
        api.MapPut("/pause", () => MigrationUnderWay(vm) ? Error(StatusCodes.Status409Conflict, "a migration is under way; cancel it (DELETE /v1/migration) to pause the VM")
            : vm.Pause() ? Accepted(vm) : Error(StatusCodes.Status409Conflict, $"the VM is {vm.Status.State}, not Running"));
        api.MapPut("/unpause", () => vm.Unpause() ? Accepted(vm) : Error(StatusCodes.Status409Conflict, $"the VM is {vm.Status.State}, not Paused"));
        api.MapPut("/shutdown", () => vm.RequestShutdown() ? Accepted(vm)
            : Error(StatusCodes.Status409Conflict, "the power button was pressed but nothing in the guest listens to it (no ACPI, or not booted yet); use /v1/stop to stop it hard"));
        api.MapPut("/stop", () =>
        {
            vm.Stop();
            return Accepted(vm);
        });

        api.MapPut("/migrate", async (HttpContext context) =>
        {
            MigrateRequest? request;
            try
            {
                request = await System.Text.Json.JsonSerializer.DeserializeAsync(context.Request.Body, ControlApiJson.Default.MigrateRequest, context.RequestAborted);
            }
            catch (System.Text.Json.JsonException e)
            {
                return Error(StatusCodes.Status400BadRequest, $"the body is not a migrate request: {e.Message}");
            }
            if (request is null) return Error(StatusCodes.Status400BadRequest, "send a migrate request as JSON (migrationUid, targetAddress, targetPort, tls)");
            if (request.Problems() is { Count: > 0 } problems) return Error(StatusCodes.Status400BadRequest, string.Join("; ", problems));
            return vm.StartMigration(request, log) is { } why ? Error(StatusCodes.Status409Conflict, why) : MigrationAnswer(vm, StatusCodes.Status202Accepted);
        });
        api.MapGet("/migration", () => vm.Migration is null ? Error(StatusCodes.Status404NotFound, "no migration has run here") : MigrationAnswer(vm, StatusCodes.Status200OK));
        api.MapDelete("/migration", () => vm.CancelMigration() ? MigrationAnswer(vm, StatusCodes.Status202Accepted)
            : vm.Migration is null ? Error(StatusCodes.Status404NotFound, "no migration has run here")
            : Error(StatusCodes.Status409Conflict, $"the migration cannot be cancelled: it is {vm.Migration.Phase}{(vm.Migration.HandedOver == true ? " (the VM was handed over to the target)" : "")}"));

        api.MapGet("/console", (HttpContext context, CancellationToken _) => console is null
            ? Task.FromResult(Error(StatusCodes.Status404NotFound, "this launcher has no console to attach to"))
            : ServeConsoleAsync(context, console));

        return new ControlServer(app, await LauncherWebHost.StartAsync(app, cancellationToken));
    }

    /// <summary>A self-signed certificate for this launcher (the kubelet's probe does not verify one; clients
    /// authenticate with the token).</summary>
    public static X509Certificate2 SelfSignedCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(name);
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));  // server auth
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(1));
    }

    /// <summary>Bridges one WebSocket to the console until either side ends: output as binary frames, input typed.</summary>
    private static async Task<IResult> ServeConsoleAsync(HttpContext context, ConsoleAccess console)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Error(StatusCodes.Status400BadRequest, "open /v1/console as a WebSocket: binary frames carry the guest's output, what you send is typed");
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var client = console.Output.Attach();
        using var done = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        try
        {
            var typing = Task.Run(async () =>
            {
                var buffer = new byte[4096];
                try
                {
                    while (true)
                    {
                        var received = await socket.ReceiveAsync(buffer, done.Token);
                        if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close) break;
                        if (received.Count > 0) console.Input(buffer.AsMemory(0, received.Count));
                    }
                }
                catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException) { }
                finally
                {
                    done.Cancel();
                }
            });
            try
            {
                while (!done.IsCancellationRequested)
                    await socket.SendAsync(await console.Output.ReadAsync(client, done.Token), System.Net.WebSockets.WebSocketMessageType.Binary, true, done.Token);
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException) { }
            done.Cancel();
            await typing;
            if (socket.State is System.Net.WebSockets.WebSocketState.Open or System.Net.WebSockets.WebSocketState.CloseReceived)
            {
                using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "detached", closing.Token);
                }
                catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException) { }
            }
        }
        finally
        {
            console.Output.Detach(client);
        }
        return Results.Empty;
    }

    private static bool Authorized(HttpRequest request, byte[] token)
    {
        string header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        string? given = header.StartsWith(Scheme, StringComparison.Ordinal) ? header[Scheme.Length..].Trim()
            : request.Headers[ControlApiHeaders.Token].ToString() is { Length: > 0 } proxied ? proxied.Trim() : null;
        return given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), token);
    }

    private static bool MigrationUnderWay(IVmControl vm) => vm.Migration is { Role: LauncherMigrationStatus.Source, Phase: LauncherMigrationPhases.Transferring };

    private static IResult MigrationAnswer(IVmControl vm, int status) =>
        Results.Json(vm.Migration, ControlApiJson.Default.LauncherMigrationStatus, statusCode: status);

    private static IResult Accepted(IVmControl vm) => Results.Json(vm.Status, ControlJsonContext.Default.VmStatus, statusCode: StatusCodes.Status202Accepted);

    private static IResult Error(int status, string message) => Results.Json(new ControlError(message), ControlJsonContext.Default.ControlError, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
