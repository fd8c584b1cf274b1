package fakeslack

import "net/http"

// The admin routes of HTTP delivery, installations, views and the app-layer injections:
//
//	POST /_admin/apps/{app}/config              {"request_url","redirect_url","token_rotation","verify"} (ConfigureApp;
//	                                            verify: url_verification, 409 unless echoed)
//	POST /_admin/apps/{app}/install             {"team"} → the Install (team "new" creates a workspace)
//	POST /_admin/apps/{app}/uninstall           {"team"} → {"injected":[…]}: tokens_revoked, app_uninstalled
//	POST /_admin/apps/{app}/revoke-tokens       {"team"} → tokens_revoked
//	GET  /_admin/apps/{app}/deliveries          → {"deliveries":[…]}: HTTP deliveries and their attempts
//	POST /_admin/apps/{app}/app-home-opened     {"team","user"}
//	POST /_admin/apps/{app}/reactions           {"team","channel","user","reaction","ts"}: reaction_added
//	POST /_admin/apps/{app}/triggers            {"team","user"} → {"trigger_id"}
//	GET  /_admin/views/{id}                     → {"view":{…}}
//	GET  /_admin/channels/{channel}/ephemeral   → {"messages":[…]}
//	POST /_admin/channels/membership            {"channel","member"}: the bot joins or leaves
//	POST /_admin/tokens/expire                  {"token"}: token_expired from now on

func (s *Server) routeAdminApps() {
	s.adminHandle("POST /_admin/apps/{app}/config", func(r *http.Request) (any, error) {
		var req struct {
			AppConfig
			Verify bool `json:"verify"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if err := s.ConfigureApp(r.PathValue("app"), req.AppConfig); err != nil {
			return nil, smAdminErr(err)
		}
		if req.Verify {
			if err := s.VerifyRequestURL(r.Context(), r.PathValue("app")); err != nil {
				return nil, &adminError{status: http.StatusConflict, msg: err.Error()}
			}
		}
		return nil, nil
	})
	type teamReq struct {
		Team string `json:"team"`
		User string `json:"user"`
	}
	readTeam := func(r *http.Request, need bool) (teamReq, error) {
		var req teamReq
		if err := decodeAdmin(r, &req); err != nil {
			return req, err
		}
		if need && req.Team == "" {
			return req, badRequest("team is required")
		}
		return req, nil
	}
	s.adminHandle("POST /_admin/apps/{app}/install", func(r *http.Request) (any, error) {
		req, err := readTeam(r, false)
		if err != nil {
			return nil, err
		}
		in, err := s.Install(r.PathValue("app"), req.Team)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return map[string]any{"install": in}, nil
	})
	s.adminHandle("POST /_admin/apps/{app}/uninstall", func(r *http.Request) (any, error) {
		req, err := readTeam(r, true)
		if err != nil {
			return nil, err
		}
		inj, err := s.Uninstall(r.PathValue("app"), req.Team)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return map[string]any{"injected": inj}, nil
	})
	s.adminHandle("POST /_admin/apps/{app}/revoke-tokens", func(r *http.Request) (any, error) {
		req, err := readTeam(r, true)
		if err != nil {
			return nil, err
		}
		inj, err := s.RevokeAppTokens(r.PathValue("app"), req.Team)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return inj.fields(), nil
	})
	s.adminHandle("GET /_admin/apps/{app}/deliveries", func(r *http.Request) (any, error) {
		if _, err := s.sm.installed(r.PathValue("app"), ""); err != nil {
			return nil, smAdminErr(err)
		}
		return map[string]any{"deliveries": s.Deliveries(r.PathValue("app"))}, nil
	})
	s.adminHandle("POST /_admin/apps/{app}/app-home-opened", func(r *http.Request) (any, error) {
		req, err := readTeam(r, true)
		if err != nil {
			return nil, err
		}
		inj, err := s.InjectAppHomeOpened(r.PathValue("app"), req.Team, req.User)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return inj.fields(), nil
	})
	s.adminHandle("POST /_admin/apps/{app}/reactions", func(r *http.Request) (any, error) {
		var req ReactionAdded
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		inj, err := s.InjectReactionAdded(r.PathValue("app"), req)
		if err != nil {
			return nil, smAdminErr(err)
		}
		return inj.fields(), nil
	})
	s.adminHandle("POST /_admin/apps/{app}/triggers", func(r *http.Request) (any, error) {
		req, err := readTeam(r, true)
		if err != nil {
			return nil, err
		}
		p, err := s.sm.people(req.Team, "", req.User)
		if err != nil {
			return nil, smAdminErr(err)
		}
		if _, err := s.sm.installed(r.PathValue("app"), req.Team); err != nil {
			return nil, smAdminErr(err)
		}
		return map[string]any{"trigger_id": s.IssueTrigger(r.PathValue("app"), req.Team, p.user)}, nil
	})
	s.adminHandle("GET /_admin/views/{id}", func(r *http.Request) (any, error) {
		v, ok := s.View(r.PathValue("id"))
		if !ok {
			return nil, notFound("no view %q", r.PathValue("id"))
		}
		return map[string]any{"view": v}, nil
	})
	s.adminHandle("GET /_admin/channels/{channel}/ephemeral", func(r *http.Request) (any, error) {
		if s.History(r.PathValue("channel")) == nil {
			return nil, notFound("%v: %q", ErrNoChannel, r.PathValue("channel"))
		}
		return map[string]any{"messages": s.Ephemeral(r.PathValue("channel"))}, nil
	})
	s.adminHandle("POST /_admin/channels/membership", func(r *http.Request) (any, error) {
		var req struct {
			Channel string `json:"channel"`
			Member  bool   `json:"member"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if !s.SetBotInChannel(req.Channel, req.Member) {
			return nil, notFound("%v: %q", ErrNoChannel, req.Channel)
		}
		return nil, nil
	})
	s.adminHandle("POST /_admin/tokens/expire", func(r *http.Request) (any, error) {
		var req struct {
			Token string `json:"token"`
		}
		if err := decodeAdmin(r, &req); err != nil {
			return nil, err
		}
		if req.Token == "" {
			return nil, badRequest("token is required")
		}
		if !s.ExpireToken(req.Token) {
			return nil, notFound("unknown token")
		}
		return nil, nil
	})
}
