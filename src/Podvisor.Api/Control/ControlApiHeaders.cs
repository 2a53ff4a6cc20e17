namespace Podvisor.Api.Control;

/// <summary>HTTP headers of the launcher's control API that its clients (the operator, the CLI) send.</summary>
public static class ControlApiHeaders
{
    /// <summary>
    /// The control token, for requests through the API server's pod proxy, which passes this header on but not
    /// Authorization.
    /// </summary>
    public const string Token = "X-Podvisor-Token";
}
