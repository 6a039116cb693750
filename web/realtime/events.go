package realtime

import (
	"encoding/json"
	"strings"
)

// Client event types (the same in the GA and beta dialects).
const (
	evSessionUpdate  = "session.update"
	evAppend         = "input_audio_buffer.append"
	evCommit         = "input_audio_buffer.commit"
	evClear          = "input_audio_buffer.clear"
	evResponseCreate = "response.create"
	evResponseCancel = "response.cancel"
	evItemTruncate   = "conversation.item.truncate"
	evItemRetrieve   = "conversation.item.retrieve"
)

// clientTypes lists the client events this endpoint accepts, for the error
// naming them.
const clientTypes = "'" + evSessionUpdate + "', '" + evAppend + "', '" + evCommit + "', '" + evClear + "', '" +
	evResponseCreate + "', '" + evResponseCancel + "', '" + evItemTruncate + "' and '" + evItemRetrieve + "'"

// clientEvent is any client event: the union of the fields voicesim reads.
type clientEvent struct {
	Type         string          `json:"type"`
	EventID      string          `json:"event_id"`
	Session      json.RawMessage `json:"session"`
	Audio        string          `json:"audio"`
	ItemID       string          `json:"item_id"`
	ContentIndex int64           `json:"content_index"`
	AudioEndMs   *int64          `json:"audio_end_ms"`
	ResponseID   string          `json:"response_id"`
}

// Error types and codes of error events. The codes follow the ones the
// OpenAI Realtime API sends for the same conditions where it has one.
const (
	errInvalidRequest = "invalid_request_error"
	errServer         = "server_error"

	codeInvalidJSON      = "invalid_json"
	codeMissingParam     = "missing_required_parameter"
	codeInvalidValue     = "invalid_value"
	codeInvalidAPIKey    = "invalid_api_key"
	codeCancelNotActive  = "response_cancel_not_active"
	codeActiveResponse   = "conversation_already_has_active_response"
	codeCommitEmpty      = "input_audio_buffer_commit_empty"
	codeItemNotFound     = "item_not_found"
	codeUnsupportedAudio = "unsupported_audio_format"
	codeTooLarge         = "message_too_large"
	codeSessionFull      = "session_limit_reached"
	codeTooManyErrors    = "too_many_errors"
	codeSlowClient       = "slow_client"
)

// apiError is an error event's body.
type apiError struct {
	Type    string  `json:"type"`
	Code    string  `json:"code"`
	Message string  `json:"message"`
	Param   *string `json:"param"`
	EventID *string `json:"event_id"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// reqErr builds an invalid_request_error; param may be empty.
func reqErr(code, param, msg string) *apiError {
	e := &apiError{Type: errInvalidRequest, Code: code, Message: msg}
	if param != "" {
		e.Param = &param
	}
	return e
}

type errorEvent struct {
	Type    string   `json:"type"`
	EventID string   `json:"event_id"`
	Error   apiError `json:"error"`
}

// Items and responses as the wire shows them.

type contentPart struct {
	Type       string  `json:"type"`
	Transcript *string `json:"transcript"`
	Audio      string  `json:"audio,omitempty"`
}

type item struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Type    string        `json:"type"`
	Status  string        `json:"status"`
	Role    string        `json:"role"`
	Content []contentPart `json:"content"`
}

type statusDetails struct {
	Type   string `json:"type"`
	Reason string `json:"reason,omitempty"`
}

type responseObj struct {
	ID               string          `json:"id"`
	Object           string          `json:"object"`
	Status           string          `json:"status"`
	StatusDetails    *statusDetails  `json:"status_details"`
	Output           []item          `json:"output"`
	ConversationID   string          `json:"conversation_id,omitempty"`
	OutputModalities []string        `json:"output_modalities,omitempty"`
	Modalities       []string        `json:"modalities,omitempty"`
	Audio            json.RawMessage `json:"audio,omitempty"`
	Usage            *usage          `json:"usage"`
	Metadata         json.RawMessage `json:"metadata"`
}

type usage struct {
	TotalTokens  int64 `json:"total_tokens"`
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// Server events. Each has type and event_id first.

type evSession struct {
	Type    string `json:"type"`
	EventID string `json:"event_id"`
	Session any    `json:"session"`
}

type evBuffer struct {
	Type           string  `json:"type"`
	EventID        string  `json:"event_id"`
	ItemID         string  `json:"item_id,omitempty"`
	AudioStartMs   *int64  `json:"audio_start_ms,omitempty"`
	AudioEndMs     *int64  `json:"audio_end_ms,omitempty"`
	PreviousItemID *string `json:"previous_item_id,omitempty"`
}

type evItem struct {
	Type           string  `json:"type"`
	EventID        string  `json:"event_id"`
	PreviousItemID *string `json:"previous_item_id,omitempty"`
	Item           item    `json:"item"`
}

type evTruncated struct {
	Type         string `json:"type"`
	EventID      string `json:"event_id"`
	ItemID       string `json:"item_id"`
	ContentIndex int64  `json:"content_index"`
	AudioEndMs   int64  `json:"audio_end_ms"`
}

type evResponse struct {
	Type     string      `json:"type"`
	EventID  string      `json:"event_id"`
	Response responseObj `json:"response"`
}

type evOutputItem struct {
	Type        string `json:"type"`
	EventID     string `json:"event_id"`
	ResponseID  string `json:"response_id"`
	OutputIndex int64  `json:"output_index"`
	Item        item   `json:"item"`
}

type evPart struct {
	Type         string      `json:"type"`
	EventID      string      `json:"event_id"`
	ResponseID   string      `json:"response_id"`
	ItemID       string      `json:"item_id"`
	OutputIndex  int64       `json:"output_index"`
	ContentIndex int64       `json:"content_index"`
	Part         contentPart `json:"part"`
}

// evDelta is an audio or transcript delta, or the matching done event
// (Delta and Transcript empty and omitted for audio done).
type evDelta struct {
	Type         string  `json:"type"`
	EventID      string  `json:"event_id"`
	ResponseID   string  `json:"response_id"`
	ItemID       string  `json:"item_id"`
	OutputIndex  int64   `json:"output_index"`
	ContentIndex int64   `json:"content_index"`
	Delta        *string `json:"delta,omitempty"`
	Transcript   *string `json:"transcript,omitempty"`
}

// TypeTurnMetrics is the non-standard server event carrying voicesim's
// per-turn metrics. Clients that follow the Realtime API ignore event types
// they do not know; the official SDKs pass it through as an unknown event.
const TypeTurnMetrics = "voicesim.turn_metrics"

// dialect names events for GA or beta clients.
type dialect bool

const (
	ga   dialect = false
	beta dialect = true
)

// name returns the event type t in the dialect. GA names are canonical.
func (d dialect) name(t string) string {
	if d == ga {
		return t
	}
	switch {
	case strings.HasPrefix(t, "response.output_audio_transcript."):
		return "response.audio_transcript." + strings.TrimPrefix(t, "response.output_audio_transcript.")
	case strings.HasPrefix(t, "response.output_audio."):
		return "response.audio." + strings.TrimPrefix(t, "response.output_audio.")
	case strings.HasPrefix(t, "response.output_text."):
		return "response.text." + strings.TrimPrefix(t, "response.output_text.")
	case t == "conversation.item.added":
		return "conversation.item.created"
	}
	return t
}

// outputAudioPart is the content type of assistant audio in items.
func (d dialect) outputAudioPart() string {
	if d == beta {
		return "audio"
	}
	return "output_audio"
}

func ptr[T any](v T) *T { return &v }
