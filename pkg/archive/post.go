package archive

import (
	"context"
	"net/http"

	"github.com/parley-chat/parley/pkg/rest"
	"github.com/parley-chat/parley/pkg/stream"
	"github.com/parley-chat/parley/pkg/wire"
)

const errRequired = "This field is required."

// post publishes a message and answers once JetStream has stored it.
func (s *Service) post(w http.ResponseWriter, r *http.Request, who wire.User) error {
	f, err := rest.ReadFields(w, r)
	if err != nil {
		return err
	}
	uri := r.PathValue("uri")
	if err := s.mustBeMember(r, uri, who); err != nil {
		return err
	}
	p, err := checkPost(f)
	if err != nil {
		return err
	}
	p.Chat, p.User = uri, who
	reply, err := s.publish(r.Context(), p)
	if err != nil {
		return err
	}
	rest.WriteJSON(w, http.StatusCreated, reply)
	return nil
}

// checkPost validates a posting's fields.
func checkPost(f rest.Fields) (stream.Payload, error) {
	var (
		p    stream.Payload
		errs rest.FieldErrors
	)
	text, ok := f["message"]
	switch err := wire.CheckMessage(text); {
	case !ok:
		errs.Add("message", errRequired)
	case err != nil:
		errs.Add("message", err.Error())
	}
	if id, ok := f["client_id"]; ok {
		if err := wire.CheckClientID(id); err != nil {
			errs.Add("client_id", err.Error())
		}
		p.ClientID = &id
	}
	p.Message = text
	return p, errs.Err()
}

// publish stores p unless the same client_id already did. The archive is
// asked first, as history.Publish asks it for the edges, because it
// remembers client_ids for ever and the stream only within its dedupe
// window; the stream covers a retry that arrives before the consumer has
// stored the first attempt.
func (s *Service) publish(ctx context.Context, p stream.Payload) (postedReply, error) {
	if p.ClientID != nil {
		m, found, err := s.sent(ctx, p.Chat, p.User.ID, *p.ClientID)
		if err != nil {
			return postedReply{}, err
		}
		if found {
			return posted(m), nil
		}
	}
	pctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	pub, err := stream.Publish(pctx, s.js, p)
	if err != nil {
		return postedReply{}, unavailable(err)
	}
	reply := postedReply{Status: success, URI: p.Chat, ID: pub.ID, Message: p.Message, User: p.User}
	if pub.Duplicate {
		reply.Message = s.firstText(ctx, pub.ID, p.Message)
	}
	return reply, nil
}

func posted(m wire.Message) postedReply {
	return postedReply{Status: success, URI: m.Chat, ID: m.ID, Message: m.Message, User: m.User}
}

// firstText returns the text of the message the stream kept for a
// repeated client_id, so a retry with other text is answered with what
// was stored. Failing that it returns text: the id, which is what the
// client needs, is right either way.
func (s *Service) firstText(ctx context.Context, id int64, text string) string {
	str, err := s.lookupStream(ctx)
	if err != nil {
		return text
	}
	raw, err := str.GetMsg(ctx, uint64(id))
	if err != nil {
		return text
	}
	m, err := stream.DecodeRaw(raw)
	if err != nil {
		return text
	}
	return m.Message
}
