using System.Net;
using System.Text.Json;

namespace Podvisor.Cli.Cluster;

/// <summary>The API server answered a request with an error status; <see cref="Exception.Message"/> is the message of
/// the Kubernetes Status it sent (else the HTTP status).</summary>
internal sealed class ApiServerException(HttpStatusCode statusCode, string message, string content) : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>The response body as sent (a Kubernetes Status, or plain text such as "404 page not found").</summary>
    public string Content { get; } = content;

    /// <summary>A 404 that names an object (a Status with details), not a resource type the server does not serve.</summary>
    public bool IsObjectNotFound
    {
        get
        {
            if (StatusCode != HttpStatusCode.NotFound) return false;
            try
            {
                return JsonDocument.Parse(Content).RootElement is { ValueKind: JsonValueKind.Object } status
                    && status.TryGetProperty("kind", out var kind) && kind.ValueEquals("Status") && status.TryGetProperty("details", out _);
            }
            catch (JsonException)
            {
                return false;
            }
        }
    }

    public static ApiServerException From(HttpStatusCode statusCode, string? reason, string content)
    {
        string message = $"{(int)statusCode} {reason}";
        try
        {
            if (content.Length > 0 && JsonDocument.Parse(content).RootElement is { ValueKind: JsonValueKind.Object } status
                && status.TryGetProperty("message", out var text) && text.GetString() is { Length: > 0 } said)
                message = said;
        }
        catch (JsonException)
        {
            // Not a Status: the HTTP status says it.
        }
        return new ApiServerException(statusCode, message, content);
    }
}
