import Embedding
import Foundation
import Protocols

/// Everything `routershift.yaml` configures. Defaults are those a first run wants; see `data/routershift.yaml`.
/// Relative paths in a file are resolved against the file's folder (``resolvingPaths(against:)``).
public struct GatewayConfiguration: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 4000
        /// The key for /admin and every model; nil leaves only virtual keys (and no admin API).
        public var masterKey: String?
        public var maxBodyBytes = 10 * 1024 * 1024
        /// The most sub-requests of one batch in flight at once (a batch may ask for fewer).
        public var batchConcurrency = 8
        public var maxBatchItems = 1000
        /// Async tasks run at once.
        public var asyncWorkers = 4
        /// Runs of an async task before it is marked failed (a restart during a run counts as one).
        public var asyncMaxAttempts = 3
        /// How long a finished async task and its result are kept, in seconds.
        public var asyncRetention: Double = 7 * 86400
        /// HTTPS on the server's port when set.
        public var tls: TLSFiles?
        /// A second listener for `/admin`, `/metrics` and `/ui`, which the public one then no longer serves.
        public var admin: AdminListener?
        /// Seconds a new connection has to send its request head.
        public var requestHeaderTimeout: Double = 10
        /// Seconds a kept-alive connection may wait for its next request.
        public var idleTimeout: Double = 75
        /// Seconds a request body has to arrive whole, counted from its head (not reset by each byte).
        public var requestBodyTimeout: Double = 60
        /// Seconds a client may leave a response unread (its connection unwritable) before it is closed.
        public var writeTimeout: Double = 60
        /// Open client connections beyond which requests are answered 503.
        public var maxConnections = 4096
        /// The largest request head (its header lines together, and any one of them) accepted; a larger one
        /// is answered 431.
        public var maxRequestHeaderBytes = 64 * 1024
        public init() {}
    }

    public enum ProviderKind: String, Sendable, CaseIterable {
        case openAI = "openai"
        case anthropic
        case gemini
    }

    public struct Provider: Sendable, Equatable {
        public var name: String
        public var kind: ProviderKind
        /// For OpenAI-compatible providers, up to and including the version (`https://api.openai.com/v1`).
        public var baseURL: String
        public var apiKey: String?
        /// Read timeout: the longest silence between bytes of an answer.
        public var timeout: Double = 60
        public var connectTimeout: Double = 10
        /// Extra headers sent upstream (organisation, project, ...).
        public var headers: [String: String] = [:]
        /// How the provider's certificate is checked (on HTTPS base URLs).
        public var tls = UpstreamTLS()
        /// `responses: native`: Responses API requests go to its `/responses` as they are, not translated to
        /// chat completions (OpenAI providers only).
        public var servesResponses = false
    }

    public enum Strategy: String, Sendable, CaseIterable {
        case weighted
        case roundRobin = "round-robin"
        case latency
        case failover
        case cost
        case leastBusy = "least-busy"
    }

    public struct Deployment: Sendable, Equatable {
        /// Unique within its model group; defaults to `provider/model`.
        public var name: String
        public var provider: String
        /// The model name the provider knows.
        public var model: String
        public var weight: Double = 1
        /// The provider's quotas for this deployment, requests and tokens per minute.
        public var rpm: Int?
        public var tpm: Int?
        /// Lower is tried first by the failover strategy; defaults to the order in the file.
        public var priority: Int
        /// Prices per million tokens, overriding the price table.
        public var inputPrice: Double?
        public var outputPrice: Double?
    }

    public struct ModelGroup: Sendable, Equatable {
        public var name: String
        public var strategy: Strategy = .weighted
        public var deployments: [Deployment]
        public var fallbacks: [String] = []
        /// A per-group similarity threshold for the semantic cache, raising or lowering the global one.
        public var cacheThreshold: Double?
        public var cacheEnabled = true
        /// What the group serves; requests to other endpoints are refused before any upstream call.
        public var endpoints: Set<Endpoint> = [.chat]
        /// `translation.unsupported` for this group, overriding `routing.translation.unsupported`.
        package var unsupportedParameters: Translation.Policy?
    }

    /// A kind of request a model group serves, and the paths that make it.
    public enum Endpoint: String, Sendable, CaseIterable, Comparable {
        case chat
        case embeddings
        case images
        case audioTranscription = "audio_transcription"
        case audioSpeech = "audio_speech"
        case rerank
        case midjourney
        case suno
        case completions
        case moderations

        public var paths: [String] {
            switch self {
            case .chat:
                [
                    "/v1/chat/completions", "/v1/chat/completions/async", "/v1/messages",
                    "/v1/models/gemini/{model}/generateContent", "/v1/models/gemini/{model}/streamGenerateContent",
                    "/v1beta/models/{model}:generateContent", "/v1beta/models/{model}:streamGenerateContent",
                ]
            case .embeddings: ["/v1/embeddings"]
            case .images: ["/v1/images/generations"]
            case .audioTranscription: ["/v1/audio/transcriptions"]
            case .audioSpeech: ["/v1/audio/speech"]
            case .rerank: ["/v1/rerank"]
            case .midjourney: ["/v1/midjourney/imagine"]
            case .suno: ["/v1/suno/generate"]
            case .completions: ["/v1/completions"]
            case .moderations: ["/v1/moderations"]
            }
        }

        public static func < (lhs: Endpoint, rhs: Endpoint) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public struct Breaker: Sendable, Equatable {
        public var consecutiveFailures = 5
        public var errorRate = 0.5
        public var window: Double = 30
        public var minimumRequests = 10
        public var cooldown: Double = 30
    }

    public struct Routing: Sendable, Equatable {
        /// Further attempts after the first, across deployments and fallback groups.
        public var retries = 2
        public var backoffBase: Double = 0.1
        public var backoffMax: Double = 2
        /// The longest a request may take end to end, retries included.
        public var deadline: Double = 600
        /// The share of latency-routed requests sent to a deployment other than the fastest.
        public var latencyExploration = 0.05
        public var breaker = Breaker()
        /// The largest line or event an upstream stream may send; a larger one ends the stream with an error.
        public var maxStreamEventBytes = 1 << 20
        /// The largest upstream answer read whole (a non-stream chat answer, a passthrough answer).
        public var maxResponseBytes = 64 << 20
        /// The most of a streamed answer kept to store it in the cache; a longer stream is relayed in full
        /// but not cached.
        public var maxStreamCaptureBytes = 4 << 20
        /// `translation.unsupported`: what a parameter a deployment's protocol cannot express gets, a 400
        /// naming it (`refuse`) or being left out and named in `x-routershift-dropped-params` (`drop`).
        package var unsupportedParameters = Translation.Policy.refuse
    }

    /// The translation policy of the model group `name`.
    package func unsupportedParameters(inGroup name: String) -> Translation.Policy {
        models.first { $0.name == name }?.unsupportedParameters ?? routing.unsupportedParameters
    }

    public enum CacheScope: String, Sendable, CaseIterable {
        case key
        case team
        case global
    }

    public enum EmbedderKind: Sendable, Equatable {
        /// `threads`: forward passes that may run at once (concurrent prompts are also batched);
        /// `precision`: the encoder's arithmetic, `auto` by default: the precision of the index's vectors when it
        /// holds any, else int8 where the CPU has a kernel for it and fp32 elsewhere.
        case local(modelDirectory: String, threads: Int, precision: EmbeddingPrecision = .auto)
        case remote(baseURL: String, model: String, apiKey: String?, dimension: Int)
    }

    public struct Cache: Sendable, Equatable {
        public var enabled = true
        /// Cosine similarity at or above which a cached prompt may answer when the verifier is off: the
        /// lowest whose false-hit rate on QQP validation pairs is at most 5% with all-MiniLM-L6-v2.
        public var threshold = 0.92
        public var scope: CacheScope = .key
        public var ttl: Double = 7 * 86400
        public var maxEntries = 1_000_000
        public var semantic = true
        /// User turns embedded, counting back from the last.
        public var embedTurns = 1
        /// Longer conversations skip the semantic layer.
        public var maxTurns = 8
        /// Requests above this temperature skip the semantic layer.
        public var maxTemperature = 1.0
        /// The semantic index search's candidate list (HNSW efSearch). A search is under 1% of a hit, and at a
        /// million entries hnswlib and this index alike find a prompt's nearest entry far more often with a
        /// wider list than with hnswlib's default of 64 (BENCHMARKS.md, "The cache at a million entries").
        public var efSearch = 256
        /// By default the local model in the per-user data folder, where `routershift model fetch` puts it.
        public var embedder: EmbedderKind = .local(
            modelDirectory: DataHome.modelDirectory(), threads: GatewayConfiguration.defaultEmbedderThreads)
        public var verifier = Verifier()
        /// Of the answers served from the semantic layer, at most this share may be wrong: audits measure it
        /// and tighten a model group's operating point while the bound exceeds it.
        public var maxWrongHitRate = 0.05
        /// Semantic hits re-asked upstream in the background to measure the wrong-hit share; nil for none.
        public var audit: Audit?
    }

    /// `cache.audit`: the share of semantic hits also answered upstream and judged against the cached answer.
    public struct Audit: Sendable, Equatable {
        public var rate = 0.02
        /// The share of near-misses (a miss whose best candidate scored just below the operating point) whose
        /// cached answer is judged against the fresh one, so the cache learns where it is too strict; nil for
        /// the hits' rate. They need no second upstream call (the miss was answered upstream anyway).
        public var nearMissRate: Double?
        /// The cosine (local embedder) between the fresh and the cached answer at or above which they agree.
        public var agreement = 0.8
        /// Dollars a day audits may spend upstream; nil for no cap.
        public var maxCostPerDay: Double?
        /// A model group that judges the two answers (an LLM judge) instead of the embedder's cosine.
        public var judge: String?
        /// The judge's measured error (`cache.audit.judge_error`), corrected for in the estimate; nil for none.
        public var judgeError: JudgeErrorRates?
        public init() {}
    }

    /// The share of wrong hits the judge calls right, and of right hits it calls wrong.
    public struct JudgeErrorRates: Sendable, Equatable {
        public var missed: Double
        public var falseAlarm: Double
        public init(missed: Double, falseAlarm: Double) {
            self.missed = missed
            self.falseAlarm = falseAlarm
        }
    }

    public struct Verifier: Sendable, Equatable {
        public var enabled = true
        /// A parameters file; nil for the verifier built into the binary (`data/verifier.json`).
        public var file: String?
        /// Overrides the threshold stored with the verifier's parameters.
        public var threshold: Double?
        /// The lowest cosine a candidate needs before the verifier looks at it; by default the one the
        /// verifier was fitted with.
        public var candidateThreshold: Double?
    }

    public struct Pricing: Sendable, Equatable {
        /// A price table file; nil for the table built into the binary (`data/prices.json`).
        public var file: String?
        public var overrides: [String: ModelPrice] = [:]
    }

    public struct Logging: Sendable, Equatable {
        public var level = "info"
        /// Request-log rows older than this are pruned.
        /// Request-log rows older than this are pruned; keep it above the longest budget period, whose spend
        /// is read back from the log when the gateway starts.
        public var retention: Double = 90 * 86400
        public var maxRows = 1_000_000
    }

    /// A team's spending limit; keys name their team when created.
    public struct Team: Sendable, Equatable {
        public var name: String
        /// Maximum dollars per `budgetPeriod`.
        public var budget: Double
        public var budgetPeriod: BudgetPeriod

        public init(name: String, budget: Double, budgetPeriod: BudgetPeriod) {
            self.name = name
            self.budget = budget
            self.budgetPeriod = budgetPeriod
        }
    }

    /// One encoder thread per core, at most four: on two cores this doubles semantic-hit throughput while
    /// the event loops still get their share (the scheduler batches what waits).
    public static let defaultEmbedderThreads = min(max(ProcessInfo.processInfo.activeProcessorCount, 1), 4)

    public var server = Server()
    public var databasePath = "routershift.sqlite"
    public var providers: [Provider] = []
    public var models: [ModelGroup] = []
    public var routing = Routing()
    public var cache = Cache()
    public var pricing = Pricing()
    public var logging = Logging()
    public var teams: [Team] = []
    public var telemetry = Telemetry()

    public init() {}

    public func provider(named name: String) -> Provider? { providers.first { $0.name == name } }
    public func group(named name: String) -> ModelGroup? { models.first { $0.name == name } }
}

/// Prices in dollars per million tokens.
public struct ModelPrice: Sendable, Equatable, Codable {
    public var input: Double
    public var output: Double
    /// For prompt tokens the provider served from its own cache, where it charges less.
    public var cachedInput: Double?

    public init(input: Double, output: Double, cachedInput: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
    }

    enum CodingKeys: String, CodingKey {
        case input, output
        case cachedInput = "cached_input"
    }
}
